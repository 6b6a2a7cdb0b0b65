"""Set up the systems that send case events from the command line, as in the
admin: `create` a system with its services and first token, `rotate` its
token (the old ones stop after --overlap-hours, 24 by default), `revoke`
every token at once. A token is printed once; only its hash is kept."""

from __future__ import annotations

import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from api.models import ApiClient
from api.tokens import ROTATION_OVERLAP, token_issue, token_rotate, tokens_revoke
from caseload.models import Service


class Command(BaseCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="a new system, with its first token")
        create.add_argument("name")
        create.add_argument(
            "--service", type=int, action="append", required=True, help="a service id (repeat)"
        )
        rotate = actions.add_parser("rotate", help="a new token; the old ones stop later")
        rotate.add_argument("name")
        rotate.add_argument(
            "--overlap-hours", type=int, default=int(ROTATION_OVERLAP.total_seconds() // 3600)
        )
        revoke = actions.add_parser("revoke", help="stop every token of the system now")
        revoke.add_argument("name")

    def handle(self, *args: object, **options) -> None:  # type: ignore[no-untyped-def]
        action, name = options["action"], options["name"]
        if action == "create":
            services = list(Service.objects.filter(pk__in=options["service"]))
            if len(services) != len(set(options["service"])):
                raise CommandError("No such service: give each service's id.")
            if ApiClient.objects.filter(name=name).exists():
                raise CommandError(f"There is already a system named {name}.")
            with transaction.atomic():
                client = ApiClient.objects.create(name=name)
                client.services.set(services)
                new = token_issue(client=client, by=None)
            self.stdout.write(new.value)
            return
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            raise CommandError(f"There is no system named {name}.")
        if action == "rotate":
            if options["overlap_hours"] < 0:
                raise CommandError("The overlap is 0 hours or more.")
            overlap = datetime.timedelta(hours=options["overlap_hours"])
            self.stdout.write(token_rotate(client=client, by=None, overlap=overlap).value)
        else:
            revoked = tokens_revoke(client=client)
            self.stdout.write(f"Revoked {revoked} token{'s' if revoked != 1 else ''} of {name}.")
