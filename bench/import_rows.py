"""Benchmark: import a 20,000-row extract of a large service into an empty
database — the dry run, then the import — and import it again (nothing
changes).

    make bench                      # on a scratch SQLite database
    DATABASE_URL=postgres://… make bench
"""

from __future__ import annotations

import datetime
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/caseload-bench-import.sqlite3")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from exchange import exporter, importer  # noqa: E402
from exchange.outcome import Outcome  # noqa: E402
from exchange.reader import read  # noqa: E402

SERVICE = "Children's Social Care"
TEAMS, WORKERS_PER_TEAM, CASES_PER_WORKER = 20, 12, 17


def extract() -> tuple[bytes, int]:
    """A service of 20 teams and 240 workers, 4,080 cases, each with an
    allocation and three ratings: 20,000 rows or so."""
    today = timezone.localdate()
    start = today - datetime.timedelta(days=700)
    sheets: exporter.Sheets = {
        "services": (["service", "kind"], [[SERVICE, "children"]]),
        "teams": (["service", "team", "aspiration", "managers"], []),
        "schemes": (
            ["service", "team", "version", "name", "benchmark", "agreed_on"],
            [[SERVICE, "", 1, "Default", 100, start]],
        ),
        "criteria": (
            ["service", "team", "version", "criterion", "level", "descriptor"],
            [[SERVICE, "", 1, name, level, f"{name} {level}"]
             for name in ("Complexity", "Risk", "Travel") for level in (1, 2, 3)],
        ),
        "people": (["username", "full_name", "role", "service", "fte", "supervisor"], []),
        "memberships": (["username", "service", "team", "start_date"], []),
        "cases": (["service", "reference", "label", "type", "people", "team", "opened_on"], []),
        "allocations": (["service", "reference", "username", "kind", "start_date"], []),
        "ratings": (["service", "reference", "rated_on", "status", "rated_by", "agreed_with",
                     "Complexity", "Risk", "Travel"], []),
    }  # fmt: skip
    for t in range(TEAMS):
        team, manager = f"Team {t:02}", f"manager.{t:02}"
        sheets["teams"][1].append([SERVICE, team, 20, manager])
        sheets["people"][1].append([manager, f"Manager {t:02}", "team_manager", SERVICE, 1, ""])
        sheets["memberships"][1].append([manager, SERVICE, team, start])
        for w in range(WORKERS_PER_TEAM):
            worker = f"worker.{t:02}.{w:02}"
            sheets["people"][1].append([worker, f"Worker {t}-{w}", "social_worker", SERVICE, 1,
                                        manager])  # fmt: skip
            sheets["memberships"][1].append([worker, SERVICE, team, start])
            for c in range(CASES_PER_WORKER):
                reference = f"CP-{t:02}{w:02}{c:02}"
                opened = start + datetime.timedelta(days=c * 40)
                sheets["cases"][1].append([SERVICE, reference, "Family", "cp", 1 + c % 3, team,
                                           opened])  # fmt: skip
                sheets["allocations"][1].append([SERVICE, reference, worker, "primary", opened])
                for r in range(3):
                    sheets["ratings"][1].append(
                        [SERVICE, reference, opened + datetime.timedelta(days=r * 30),
                         ("provisional", "interim", "agreed")[r], manager,
                         worker if r == 2 else "", 1 + (c + r) % 3, 1 + c % 3, 1 + r % 3]
                    )  # fmt: skip
    rows = sum(len(rows) for _, rows in sheets.values())
    return exporter.as_xlsx(sheets), rows


def timed(label: str, content: bytes, dry_run: bool) -> Outcome:
    started = time.perf_counter()
    book = read("extract.xlsx", content, max_rows=200_000)
    read_at = time.perf_counter()
    outcome = importer.run(book, dry_run=dry_run)
    done = time.perf_counter()
    if not outcome.valid:
        raise SystemExit(f"The extract did not import: {outcome.errors[:5]}")
    print(
        f"{label:<16} {done - started:6.2f} s (reading {read_at - started:.2f} s), "
        f"{outcome.changes:,} created or updated"
    )
    return outcome


def main() -> None:
    call_command("migrate", verbosity=0)
    call_command("flush", "--no-input", verbosity=0)
    content, rows = extract()
    print(f"Database:        {connection.vendor}")
    print(f"Extract:         {rows:,} rows, {len(content) / 1024 / 1024:.1f} MB")
    timed("Dry run:", content, dry_run=True)
    timed("Import:", content, dry_run=False)
    timed("Again (dry run):", content, dry_run=True)


if __name__ == "__main__":
    main()
