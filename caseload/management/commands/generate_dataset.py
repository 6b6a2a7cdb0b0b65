import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from caseload import dataset


class Command(BaseCommand):
    help = (
        "Generate a council of a given scale, with its history, for measuring Caseload "
        "(docs/benchmarks.md). The same seed gives the same council."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--scale", choices=list(dataset.SCALES), required=True)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Generate even though DEBUG is off (the council is fictional).",
        )

    def handle(self, *args: object, scale: str, seed: int, allow_production: bool, **_: object):
        if not settings.DEBUG and not allow_production:
            raise CommandError(
                "DEBUG is off: this looks like a real installation. Generated councils are "
                "for measuring; pass --allow-production if you are sure."
            )
        size = dataset.SCALES[scale]
        self.stdout.write(
            f"Generating the {scale} council: {size.services} services, {size.teams:,} teams, "
            f"{size.workers:,} workers, {size.open_cases:,} open cases, "
            f"{size.history_days} days of history (seed {seed})"
        )
        started = time.perf_counter()

        def progress(stage: str, done: int) -> None:
            seconds = time.perf_counter() - started
            self.stdout.write(f"  {seconds:6.1f} s  {stage}: {done:,}")
            self.stdout.flush()

        made = dataset.generate(size, seed=seed, progress=progress)
        self.stdout.write(
            self.style.SUCCESS(
                f"Generated {made.services} services, {made.teams:,} teams, "
                f"{made.people:,} people, {made.cases:,} cases, {made.allocations:,} "
                f"allocations and {made.ratings:,} ratings "
                f"in {time.perf_counter() - started:.1f} s."
            )
        )
