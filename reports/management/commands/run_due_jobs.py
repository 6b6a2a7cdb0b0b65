"""Run the day's scheduled jobs here and now."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from caseload import audit
from reports.management.options import add_day_option, day_or_today
from reports.services.daily import daily_jobs
from weighting.reminders import remind_reductions_ending


class Command(BaseCommand):
    help = (
        "Run the day's jobs in this process: leavers' cases back to their teams' queues, "
        "snapshots (catching up missed days), "
        "recomputes after back-dated changes, escalations, paused cases counting in full again, "
        "the 12-week analyses due, "
        "any quarterly review due, reminders of protected time ending, and the deletion of "
        "audit rows past their retention. "
        "The embedded first run calls it at start-up, as it has no scheduler."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        add_day_option(parser)

    def handle(self, *args, day, **options) -> None:
        day = day_or_today(day)
        done = daily_jobs(day)
        # Reminders are sent for today whatever day's jobs are run: an email
        # about an end date already past would help nobody.
        reminded = remind_reductions_ending()
        deleted = audit.delete_expired()
        self.stdout.write(
            self.style.SUCCESS(
                f"Jobs for {day}: {done['snapshots']} snapshots, {done['recomputed']} "
                f"recomputed, {done['escalations']} escalations, {done['analyses']} "
                f"analyses due, {done['reviews']} quarterly reviews, {done['returned']} "
                f"allocations of leavers ended, {done['leaving_emails']} emails about leavers, "
                f"{done['past_retention']} records past their retention deleted or closed."
            )
        )
        self.stdout.write(
            f"{reminded} email{'s' if reminded != 1 else ''} reminding of protected time ending."
        )
        paused = done["pause_emails"]
        self.stdout.write(
            f"{paused} email{'s' if paused != 1 else ''} about paused cases counting in full again."
        )
        self.stdout.write(
            f"{deleted} audit row{'s' if deleted != 1 else ''} past the "
            f"{settings.AUDIT_RETENTION_YEARS}-year retention deleted."
        )
