"""Generated councils for measuring Caseload at size: `bench/scale.py` makes its own;
`python bench/dataset.py --scale small|large|national [--seed N]` fills DATABASE_URL's.

A generated council is made of the same records a real one is: services with
the default weighting scheme, teams with a manager, workers with dated FTE,
experience factors and reductions, and cases with their whole history of
allocations, transfers and ratings over the years asked for. The same seed
gives the same council. Rows go in by bulk inserts (COPY on PostgreSQL), in
the order their keys need, with progress reported as they go.

Nobody generated can sign in: their passwords are unusable. Case labels are
numbers ("Family 1042"), never names.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import io
import os
import random
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import django

if __name__ == "__main__":  # run on its own: the product's settings, from the root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection, models, transaction
from django.utils import timezone

from caseload.models import Allocation, Case, FteChange, Person, Service, Team, TeamMembership
from weighting import services as weighting
from weighting.models import (
    Criterion,
    ExperienceFactor,
    Level,
    Rating,
    RatingLevel,
    Reduction,
    ReductionReason,
)


@dataclass(frozen=True)
class Scale:
    services: int
    teams: int
    workers: int  # case-holding social workers and ASYEs
    open_cases: int
    history_days: int
    senior_managers: int = 3  # per service


SCALES = {
    # For tests and a first look: two services, a handful of teams.
    "small": Scale(services=2, teams=6, workers=40, open_cases=700, history_days=365),
    # A large English authority (issue: ~600 case-holding workers in 70–100 teams).
    "large": Scale(services=1, teams=90, workers=600, open_cases=12_000, history_days=730),
    # England's children's social care: 33,000 workers in 2,000 teams of 150 councils.
    "national": Scale(
        services=150, teams=2_000, workers=33_000, open_cases=550_000, history_days=365
    ),
}

CLOSED_SHARE_A_YEAR = 0.35  # closed cases over a year, as a share of the open ones
UNALLOCATED_SHARE = 0.02  # open cases waiting for a worker
TRANSFER_SHARE = 0.15  # open cases that had an earlier worker in their team
AGREED_SHARE = 0.6  # allocated cases whose rating was later agreed in supervision
ASYE_SHARE = 0.1
CASE_TYPES = [Case.Type.CHILD_IN_NEED, Case.Type.CHILD_PROTECTION, Case.Type.LOOKED_AFTER]
CASE_TYPES += [Case.Type.CARE_LEAVER]
SERVICE_NAME = "Generated council {n:03d}"


@dataclass
class Generated:
    services: int = 0
    teams: int = 0
    people: int = 0
    cases: int = 0
    allocations: int = 0
    ratings: int = 0


Progress = Callable[[str, int], None]


class _Rows:
    """Rows of one table written in bulk with explicit keys: COPY on
    PostgreSQL, executemany elsewhere."""

    def __init__(self, model: type[models.Model], columns: list[str]) -> None:
        self.table = model._meta.db_table
        self.columns = columns
        self.next_id = (model.objects.aggregate(top=models.Max("pk"))["top"] or 0) + 1

    def take_id(self) -> int:
        pk = self.next_id
        self.next_id += 1
        return pk

    def write(self, rows: list[tuple]) -> None:
        if not rows:
            return
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                buffer = io.StringIO()
                writer = csv.writer(buffer)
                for row in rows:
                    writer.writerow(["\\N" if v is None else v for v in row])
                buffer.seek(0)
                cursor.cursor.copy_expert(
                    f'COPY "{self.table}" ({", ".join(self.columns)}) '
                    "FROM STDIN WITH (FORMAT csv, NULL '\\N')",
                    buffer,
                )
            else:
                # Table and column names come from the models, never from input.
                marks = ", ".join(["%s"] * len(self.columns))
                cursor.executemany(
                    f'INSERT INTO "{self.table}" ({", ".join(self.columns)}) VALUES ({marks})',  # noqa: S608
                    rows,
                )

    def reset_sequence(self) -> None:
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{self.table}\"', 'id'), "  # noqa: S608
                f'(SELECT COALESCE(MAX(id), 1) FROM "{self.table}"))'
            )


BATCH = 20_000


class _Generator:
    def __init__(self, scale: Scale, seed: int, today: datetime.date, progress: Progress):
        self.scale = scale
        self.random = random.Random(seed)  # noqa: S311 - seeded, for a repeatable council
        self.today = today
        self.first_day = today - datetime.timedelta(days=scale.history_days)
        self.progress = progress
        self.now = timezone.now()
        self.result = Generated()
        self.users = _Rows(
            get_user_model(),
            [
                "id",
                "password",
                "is_superuser",
                "username",
                "first_name",
                "last_name",
                "email",
                "is_staff",
                "is_active",
                "date_joined",
            ],
        )
        self.people = _Rows(
            Person,
            [
                "id",
                "user_id",
                "full_name",
                "role",
                "service_id",
                "fte",
                "supervisor_id",
                "asye_start_date",
                "created_at",
                "updated_at",
            ],
        )
        self.memberships = _Rows(
            TeamMembership, ["id", "person_id", "team_id", "start_date", "end_date", "created_at"]
        )
        self.ftes = _Rows(
            FteChange, ["id", "person_id", "fte", "start_date", "end_date", "created_at"]
        )
        self.factors = _Rows(
            ExperienceFactor,
            ["id", "person_id", "factor", "start_date", "end_date", "reason", "created_at"],
        )
        self.reductions = _Rows(
            Reduction,
            [
                "id",
                "person_id",
                "reason_id",
                "hours_per_week",
                "percentage",
                "start_date",
                "end_date",
                "detail",
                "created_at",
            ],
        )
        self.cases = _Rows(
            Case,
            [
                "id",
                "service_id",
                "team_id",
                "reference",
                "label",
                "case_type",
                "people_count",
                "priority",
                "opened_on",
                "closed_on",
                "status",
                "restricted",
                "created_at",
                "updated_at",
            ],
        )
        self.allocations = _Rows(
            Allocation,
            [
                "id",
                "case_id",
                "person_id",
                "kind",
                "start_date",
                "end_date",
                "allocated_by_id",
                "reason",
                "review_by",
                "ended_by_id",
                "end_reason",
                "created_at",
            ],
        )
        self.ratings = _Rows(
            Rating,
            [
                "id",
                "case_id",
                "scheme_id",
                "rated_on",
                "rated_by_id",
                "status",
                "agreed_with_id",
                "total",
                "anticipated_by",
                "anticipated_total",
                "created_at",
            ],
        )
        self.levels = _Rows(
            RatingLevel, ["id", "rating_id", "criterion_id", "level_id", "anticipated_change"]
        )
        self.case_number = 0
        self.pending_users: list[tuple] = []
        self.pending_people: list[tuple] = []
        self.pending_memberships: list[tuple] = []
        self.pending_ftes: list[tuple] = []
        self.pending_factors: list[tuple] = []
        self.pending_reductions: list[tuple] = []
        self.pending_cases: list[tuple] = []
        self.pending_allocations: list[tuple] = []
        self.pending_ratings: list[tuple] = []
        self.pending_levels: list[tuple] = []

    # -- people -------------------------------------------------------------------

    def person(self, name: str, role: str, service_id: int, fte: str, **more) -> int:
        user_id = self.users.take_id()
        person_id = self.people.take_id()
        username = f"gen{person_id}"
        self.pending_users.append(
            (
                user_id,
                "!",
                False,
                username,
                "",
                "",
                f"{username}@example.org",
                False,
                True,
                self.now,
            )
        )
        self.pending_people.append(
            (person_id, user_id, name, role, service_id, fte, more.get("supervisor"),
             more.get("asye_start"), self.now, self.now)
        )  # fmt: skip
        # Their FTE from the day they joined (everyone else's from the first day).
        since = more.get("joined", self.first_day)
        self.pending_ftes.append((self.ftes.take_id(), person_id, fte, since, None, self.now))
        return person_id

    # -- the council ----------------------------------------------------------------

    def run(self) -> Generated:
        scale = self.scale
        services = []
        base = Service.objects.count()
        for n in range(scale.services):
            service = Service.objects.create(name=SERVICE_NAME.format(n=base + n + 1))
            scheme = weighting.scheme_create_default(
                service=service, agreed_on=self.first_day - datetime.timedelta(days=30)
            )
            weighting.reduction_reasons_create_default(service=service)
            weighting.pause_reasons_create_default(service=service)
            services.append((service, scheme))
        self.other_time = dict(
            ReductionReason.objects.filter(
                service__in=[service for service, _ in services], name="Other protected time"
            ).values_list("service_id", "pk")
        )
        self.result.services = len(services)
        teams = Team.objects.bulk_create(
            Team(service=services[n % len(services)][0], name=f"Team {n + 1:04d}")
            for n in range(scale.teams)
        )
        self.result.teams = len(teams)
        self.schemes = {}
        for service, scheme in services:
            criteria = list(Criterion.objects.filter(scheme=scheme).order_by("position"))
            levels = {
                c.pk: {lv.value: lv.pk for lv in Level.objects.filter(criterion=c)}
                for c in criteria
            }
            self.schemes[service.pk] = (scheme.pk, [(c.pk, levels[c.pk]) for c in criteria])
        self.progress("services and teams", len(teams))

        # Workers are spread over the teams as evenly as the numbers allow.
        team_workers: dict[int, list[tuple[int, datetime.date, float]]] = {t.pk: [] for t in teams}
        managers: dict[int, int] = {}
        through = Team.managers.through
        manager_links = []
        for service, _ in services:
            for n in range(scale.senior_managers):
                self.person(f"Senior manager {n + 1}", Person.Role.SENIOR_MANAGER, service.pk, "1")
        for team in teams:
            manager = self.person(
                f"Manager of {team.name}", Person.Role.TEAM_MANAGER, team.service_id, "1"
            )
            managers[team.pk] = manager
            manager_links.append(through(team_id=team.pk, person_id=manager))
        for n in range(scale.workers):
            team = teams[n % len(teams)]
            asye = self.random.random() < ASYE_SHARE
            fte = self.random.choice(["1", "1", "1", "0.8", "0.6"])
            joined = self.first_day - datetime.timedelta(days=self.random.randint(1, 1500))
            if self.random.random() < 0.05:  # joined during the history
                joined = self.first_day + datetime.timedelta(
                    days=self.random.randint(0, scale.history_days // 2)
                )
            person_id = self.person(
                f"Worker {n + 1}",
                Person.Role.ASYE if asye else Person.Role.SOCIAL_WORKER,
                team.service_id,
                fte,
                supervisor=managers[team.pk],
                asye_start=joined if asye else None,
                joined=joined,
            )
            team_workers[team.pk].append((person_id, joined, float(fte) * (0.8 if asye else 1)))
            self.pending_memberships.append(
                (self.memberships.take_id(), person_id, team.pk, joined, None, self.now)
            )
            if asye:
                self.pending_factors.append(
                    (self.factors.take_id(), person_id, "0.80", joined, None, "ASYE year", self.now)
                )
            elif self.random.random() < 0.08:
                self.pending_reductions.append(
                    (
                        self.reductions.take_id(),
                        person_id,
                        self.other_time[team.service_id],
                        "7.40",
                        None,
                        self.first_day,
                        None,
                        "",
                        self.now,
                    )
                )
            if len(self.pending_people) >= BATCH:
                self.write_people()
        self.write_people()
        through.objects.bulk_create(manager_links)
        self.progress("people", self.result.people)

        # Cases team by team, in proportion to the team's workers.
        case_share = scale.open_cases / scale.workers
        closed_share = CLOSED_SHARE_A_YEAR * scale.history_days / 365
        owed = 0.0
        for team in teams:
            workers = team_workers[team.pk]
            owed += case_share * len(workers)
            open_here = int(owed)
            owed -= open_here
            closed_here = round(open_here * closed_share)
            for _ in range(open_here):
                self.case(team, workers, managers[team.pk], closing=False)
            for _ in range(closed_here):
                self.case(team, workers, managers[team.pk], closing=True)
            if len(self.pending_cases) >= BATCH:
                self.write_cases()
        self.write_cases()
        for rows in (self.users, self.people, self.memberships, self.ftes, self.factors):
            rows.reset_sequence()
        self.reductions.reset_sequence()
        for rows in (self.cases, self.allocations, self.ratings, self.levels):
            rows.reset_sequence()
        return self.result

    def write_people(self) -> None:
        self.users.write(self.pending_users)
        self.people.write(self.pending_people)
        self.result.people += len(self.pending_people)
        self.pending_users, self.pending_people = [], []
        self.memberships.write(self.pending_memberships)
        self.ftes.write(self.pending_ftes)
        self.pending_ftes = []
        self.factors.write(self.pending_factors)
        self.reductions.write(self.pending_reductions)
        self.pending_memberships, self.pending_factors, self.pending_reductions = [], [], []

    # -- cases ------------------------------------------------------------------------

    def day_in_history(self, recent_bias: float = 1.0) -> datetime.date:
        """A day in the history, nearer today the larger the bias."""
        share = self.random.random() ** recent_bias
        return self.today - datetime.timedelta(days=int(share * self.scale.history_days))

    def case(self, team: Team, workers: list, manager: int, *, closing: bool) -> None:
        self.case_number += 1
        case_id = self.cases.take_id()
        unallocated = not closing and self.random.random() < UNALLOCATED_SHARE
        if unallocated:
            opened = self.today - datetime.timedelta(days=self.random.randint(0, 40))
        else:
            opened = self.day_in_history(0.7 if not closing else 1.0)
        closed = None
        if closing:
            closed = opened + datetime.timedelta(days=self.random.randint(20, 300))
            if closed > self.today:
                closed = self.today
        self.pending_cases.append(
            (
                case_id,
                team.service_id,
                team.pk,
                f"G{self.case_number:07d}",
                f"Family {self.case_number}",
                self.random.choice(CASE_TYPES),
                self.random.choice([1, 1, 1, 2, 2, 3]),
                self.random.choice([2, 3, 3, 3]),
                opened,
                closed,
                "closed" if closed else "open",
                False,
                self.now,
                self.now,
            )
        )
        self.result.cases += 1
        if unallocated:
            return
        start = min(
            opened + datetime.timedelta(days=self.random.randint(0, 14)), closed or self.today
        )
        start = min(start, self.today)
        holding = [(pk, share) for pk, joined, share in workers if joined <= start]
        if not holding:
            return  # waits for a worker: nobody in the team yet
        end_of_case = closed
        transfer = None
        if not closing and self.random.random() < TRANSFER_SHARE and (self.today - start).days > 30:
            transfer = start + datetime.timedelta(
                days=self.random.randint(15, (self.today - start).days)
            )
        # Cases go to workers in proportion to what they can carry.
        worker = self.random.choices([pk for pk, _ in holding], [w for _, w in holding])[0]
        self.allocation(case_id, worker, start, transfer or end_of_case, manager)
        self.rate(team.service_id, case_id, start, manager, worker, closed)
        if transfer is not None:
            later = [pk for pk, joined, _ in workers if joined <= transfer and pk != worker]
            if later:
                self.allocation(case_id, self.random.choice(later), transfer, None, manager)
            # With nobody else to take it, the case waits from the transfer.

    def allocation(self, case_id, person_id, start, end, manager) -> None:
        self.pending_allocations.append(
            (
                self.allocations.take_id(),
                case_id,
                person_id,
                "primary",
                start,
                end,
                manager,
                "",
                None,
                manager if end else None,
                "",
                self.now,
            )
        )
        self.result.allocations += 1

    def rate(self, service_id, case_id, start, manager, worker, closed) -> None:
        scheme_id, criteria = self.schemes[service_id]
        self.rating(case_id, scheme_id, criteria, start, manager, "provisional", None)
        agree_on = start + datetime.timedelta(days=self.random.randint(20, 120))
        last_day = closed or self.today
        if agree_on <= last_day and self.random.random() < AGREED_SHARE:
            self.rating(case_id, scheme_id, criteria, agree_on, manager, "agreed", worker)

    def rating(self, case_id, scheme_id, criteria, day, by, status, agreed_with) -> None:
        rating_id = self.ratings.take_id()
        chosen = [(criterion, self.random.choice([1, 1, 1, 2, 2, 3])) for criterion, _ in criteria]
        total = sum(value for _, value in chosen)
        self.pending_ratings.append(
            (
                rating_id,
                case_id,
                scheme_id,
                day,
                by,
                status,
                agreed_with,
                total,
                None,
                None,
                self.now,
            )
        )
        for (criterion, value), (_, levels) in zip(chosen, criteria, strict=True):
            self.pending_levels.append(
                (self.levels.take_id(), rating_id, criterion, levels[Decimal(value)], "")
            )
        self.result.ratings += 1

    def write_cases(self) -> None:
        self.cases.write(self.pending_cases)
        self.allocations.write(self.pending_allocations)
        self.ratings.write(self.pending_ratings)
        self.levels.write(self.pending_levels)
        self.pending_cases, self.pending_allocations = [], []
        self.pending_ratings, self.pending_levels = [], []
        self.progress("cases", self.result.cases)


def generate(
    scale: Scale,
    *,
    seed: int = 2026,
    today: datetime.date | None = None,
    progress: Progress = lambda stage, done: None,
) -> Generated:
    """Write a generated council of this scale (in one transaction), then
    have PostgreSQL gather the statistics its planner needs for the new rows."""
    with transaction.atomic():
        made = _Generator(scale, seed, today or timezone.localdate(), progress).run()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return made


def generate_council(scale: str, seed: int = 2026) -> Generated:
    """Generate the council of a named scale, printing its progress."""
    size = SCALES[scale]
    print(
        f"Generating the {scale} council: {size.services} services, {size.teams:,} teams, "
        f"{size.workers:,} workers, {size.open_cases:,} open cases, "
        f"{size.history_days} days of history (seed {seed})",
        flush=True,
    )
    started = time.perf_counter()

    def progress(stage: str, done: int) -> None:
        print(f"  {time.perf_counter() - started:6.1f} s  {stage}: {done:,}", flush=True)

    made = generate(size, seed=seed, progress=progress)
    print(
        f"Generated {made.services} services, {made.teams:,} teams, {made.people:,} people, "
        f"{made.cases:,} cases, {made.allocations:,} allocations and {made.ratings:,} "
        f"ratings in {time.perf_counter() - started:.1f} s."
    )
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description="Generate a council for measuring Caseload.")
    parser.add_argument("--scale", choices=list(SCALES), required=True)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--allow-production", action="store_true", help="even if DEBUG is off")
    args = parser.parse_args()
    if not settings.DEBUG and not args.allow_production:
        sys.exit("DEBUG is off: a real installation? Pass --allow-production if you are sure.")
    generate_council(args.scale, args.seed)


if __name__ == "__main__":
    main()
