"""The demo council as it is built: what has been made so far, and the day
it is built on.

Dates are relative to today, so waiting times and histories always look
current. The random choices are seeded: two loads on the same day give the
same data.
"""

from __future__ import annotations

import datetime
import random

from django.contrib.auth.hashers import make_password

from caseload.dates import Quarter
from caseload.models import Person, Service, Team
from demo.plan import DEMO_PASSWORD, HISTORY_QUARTERS
from weighting import services as weighting


class Council:
    """The services, teams and people built so far, by name, and the
    seeded random choices."""

    def __init__(self, today: datetime.date) -> None:
        self.today = today
        self.random = random.Random(2026)  # noqa: S311 - seeded, for repeatable demo data
        self.password = make_password(DEMO_PASSWORD)
        self.people: dict[str, Person] = {}
        self.services: dict[str, Service] = {}
        self.teams: dict[str, Team] = {}
        self.criteria_by_key: dict[tuple[int, int], dict[str, int]] = {}
        self.scheme_changes: list[datetime.date] = []  # the days schemes were agreed
        self.number = 0  # the next case number in the team being built
        first_quarter = Quarter.containing(today)
        for _ in range(HISTORY_QUARTERS):
            first_quarter = first_quarter.previous
        self.history_days = (today - first_quarter.start).days

    def days_ago(self, days: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days)

    def criteria_ids(self, team: Team, day: datetime.date) -> dict[str, int]:
        # The schemes in force change on a few days only: look each up once.
        key = (team.pk, sum(day >= changed for changed in self.scheme_changes))
        if key not in self.criteria_by_key:
            scheme = weighting.scheme_in_force(team, day)
            self.criteria_by_key[key] = {c.name: c.pk for c in scheme.criteria.all()}
        return self.criteria_by_key[key]
