import redis
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from caseload import broker
from caseload.tasks import probe


class Command(BaseCommand):
    help = "Check that the database, the broker and a Celery worker answer."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--timeout", type=float, default=10.0, help="Seconds to wait for a worker's answer."
        )
        parser.add_argument(
            "--no-worker", action="store_true", help="Check the database and broker only."
        )

    def handle(self, *args: object, timeout: float, no_worker: bool, **options: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        self.stdout.write(f"database: ok ({connection.vendor})")

        if not settings.REDIS_URL:
            result = probe.delay().get(timeout=timeout)
            self.stdout.write(f"tasks: {result} (run in-process: no broker is configured)")
            return
        try:
            broker.redis_client(timeout).ping()
        except redis.RedisError as error:
            raise CommandError(f"broker: not answering at {settings.REDIS_URL} ({error})") from None
        self.stdout.write("broker: ok")
        if no_worker:
            return
        try:
            result = probe.delay().get(timeout=timeout)
        except Exception as error:  # any failure here means "no worker answered"
            raise CommandError(f"worker: no answer within {timeout:g} s ({error!r})") from None
        self.stdout.write(f"worker: {result}")
