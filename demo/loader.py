"""Loading the demo council: once, into a database that does not hold it."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from caseload.models import Notification, Person, Service
from demo import cases, history, people
from demo.council import Council
from demo.plan import CHILDRENS_SERVICE, TEAMS


@dataclass
class DemoResult:
    loaded: bool
    message: str


def demo_present() -> bool:
    return Service.objects.filter(name=CHILDRENS_SERVICE).exists()


def database_is_empty() -> bool:
    return not (Service.objects.exists() or Person.objects.exists())


def build(council: Council) -> None:
    people.build_people_and_teams(council)
    for plan in TEAMS:
        cases.build_cases(council, plan)
    cases.build_mrs_harrison(council)
    cases.review_over_maximum(council)
    cases.pause_a_case(council)
    history.build_snapshots_and_analyses(council)
    history.build_supervision(council)
    history.build_escalations_and_reviews(council)
    history.build_dmt_decisions(council)


def load_demo(*, today: datetime.date | None = None) -> DemoResult:
    """Create the demo services, teams, people and cases (once)."""
    if demo_present():
        return DemoResult(False, "The demo data is already loaded.")
    started = timezone.now()
    with transaction.atomic():
        build(Council(today or timezone.localdate()))
        # The demo's history happened in the past: nobody is emailed about it.
        Notification.objects.filter(created_at__gte=started, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    return DemoResult(True, "Loaded the demo data.")
