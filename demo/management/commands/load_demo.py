from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from demo.loader import database_is_empty, demo_present, load_demo
from demo.plan import DEMO_LOGINS, DEMO_PASSWORD


class Command(BaseCommand):
    help = "Load the demo council (services, teams, people, cases) and print its log-ins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Load only into an empty database (the embedded first run uses this).",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Load even though DEBUG is off. The demo log-ins share a published password.",
        )

    def handle(
        self, *args: object, if_empty: bool, allow_production: bool, **options: object
    ) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off: this looks like a real installation, and the demo log-ins "
                "share a published password. Pass --allow-production if you are sure."
            )
        if if_empty and not database_is_empty():
            if demo_present():
                self.stdout.write("The demo data is already loaded.")
                self.print_logins()
            else:
                self.stdout.write("The database already holds data; the demo data was not loaded.")
            return
        result = load_demo()
        self.stdout.write(self.style.SUCCESS(result.message) if result.loaded else result.message)
        self.print_logins()

    def print_logins(self) -> None:
        self.stdout.write(f"\nDemo log-ins (password: {DEMO_PASSWORD}):")
        for username, name, role in DEMO_LOGINS:
            self.stdout.write(f"  {username:<10} {name:<15} {role}")
        self.stdout.write("")
