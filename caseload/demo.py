"""Demo data: a council's Children's and Adult Social Care, with history.

Everything is written through the same write functions as the pages, so the
demo obeys every rule. Dates are relative to today, so waiting times and
histories always look current. The random choices are seeded: two loads on
the same day give the same data.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from caseload import services
from caseload.models import Case, Person, Service, Team

DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo log-ins
CHILDRENS_SERVICE = "Children's Social Care"
ADULTS_SERVICE = "Adult Social Care"

# The log-ins README.md and `make run` list.
DEMO_LOGINS = [
    ("manager", "Claire Hughes", "Team manager, Child Protection"),
    ("worker", "Asha Patel", "Social worker, Child Protection"),
    ("dmt", "Dana Morris", "Senior manager (DMT), Children's Social Care"),
    ("admin", "Alex Morgan", "Administrator"),
]


@dataclass(frozen=True)
class Member:
    username: str
    full_name: str
    role: str
    fte: str = "1.00"
    supervisor: str | None = None  # username; the team manager when None
    joined_days_ago: int = 760
    cases: int = 0  # open cases they hold today
    closed: int = 0  # cases they held that have since closed


@dataclass(frozen=True)
class TeamPlan:
    service: str
    name: str
    manager: tuple[str, str]  # username, full name
    prefix: str
    first_number: int
    case_types: tuple[str, ...]
    labels: tuple[str, ...]
    max_people: int
    members: tuple[Member, ...]
    unallocated: int
    aspiration: str = "20.0"


SW, ASYE, STUDENT = Person.Role.SOCIAL_WORKER, Person.Role.ASYE, Person.Role.STUDENT

TEAMS = (
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Child Protection",
        manager=("manager", "Claire Hughes"),
        prefix="CP",
        first_number=1001,
        case_types=(
            Case.Type.CHILD_PROTECTION,
            Case.Type.CHILD_PROTECTION,
            Case.Type.CHILD_IN_NEED,
        ),
        labels=(
            "Sibling group, neglect",
            "Pre-birth assessment",
            "Teenager, exploitation risk",
            "Domestic abuse",
            "Parental substance misuse",
            "Infant, non-accidental injury",
            "Step-down to child in need",
            "Missing episodes",
        ),
        max_people=3,
        members=(
            Member("worker", "Asha Patel", SW, cases=9, closed=4),
            Member("ben.okafor", "Ben Okafor", ASYE, joined_days_ago=70, cases=6, closed=1),
            Member("chloe.evans", "Chloe Evans", SW, fte="0.60", cases=5, closed=2),
            Member("daniel.reid", "Daniel Reid", SW, cases=11, closed=5),
            Member("ella.shah", "Ella Shah", STUDENT, supervisor="worker", joined_days_ago=60),
        ),
        unallocated=4,
    ),
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Children with Disabilities",
        manager=("cwd.manager", "Farah Ali"),
        prefix="CWD",
        first_number=2001,
        case_types=(Case.Type.SHORT_BREAKS, Case.Type.SHORT_BREAKS, Case.Type.CHILD_IN_NEED),
        labels=(
            "Short breaks review",
            "Transition to adult services",
            "Complex health needs",
            "Residential short breaks",
            "Direct payments review",
            "Autism, family support",
        ),
        max_people=2,
        aspiration="25.0",
        members=(
            Member("george.hall", "George Hall", SW, cases=14, closed=4),
            Member("hannah.wood", "Hannah Wood", SW, fte="0.80", cases=12, closed=3),
            Member("isaac.brown", "Isaac Brown", SW, cases=16, closed=3),
        ),
        unallocated=2,
    ),
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Looked After Children",
        manager=("lac.manager", "James Carter"),
        prefix="LAC",
        first_number=3001,
        case_types=(Case.Type.LOOKED_AFTER, Case.Type.LOOKED_AFTER, Case.Type.CARE_LEAVER),
        labels=(
            "Long-term foster placement",
            "Placement with connected carer",
            "Residential placement",
            "Care leaver, pathway plan",
            "Reunification planning",
            "Placement stability concerns",
        ),
        max_people=2,
        members=(
            Member("katie.lewis", "Katie Lewis", SW, cases=12, closed=3),
            Member("liam.turner", "Liam Turner", ASYE, joined_days_ago=200, cases=8, closed=2),
            Member("maya.green", "Maya Green", SW, fte="0.50", cases=6, closed=2),
            Member("noah.clarke", "Noah Clarke", SW, joined_days_ago=150, cases=10, closed=1),
        ),
        unallocated=1,
    ),
    TeamPlan(
        service=ADULTS_SERVICE,
        name="Older People",
        manager=("op.manager", "Nadia Khan"),
        prefix="AS",
        first_number=2101,
        case_types=(Case.Type.ADULT_ASSESSMENT, Case.Type.ADULT_REVIEW, Case.Type.ADULT_REVIEW),
        labels=(
            "Hospital discharge review",
            "Care home placement review",
            "Carer's assessment",
            "Home care package review",
            "Safeguarding enquiry",
            "Reablement follow-up",
        ),
        max_people=1,
        aspiration="25.0",
        members=(
            Member("oliver.price", "Oliver Price", SW, cases=14, closed=4),
            Member("priya.nair", "Priya Nair", SW, fte="0.80", cases=11, closed=3),
            Member("rachel.young", "Rachel Young", ASYE, joined_days_ago=120, cases=7, closed=1),
        ),
        unallocated=3,
    ),
)

# Noah Clarke moved from Child Protection to Looked After Children: his history
# counts him in CP until the move.
MOVED = {"noah.clarke": ("Child Protection", 760)}

# Seed 000's case example, held in the older people's team.
MRS_HARRISON = {
    "reference": "AS-2041",
    "label": "Mrs H, lives alone, recent fall",
    "case_type": Case.Type.ADULT_ASSESSMENT,
    "holder": "oliver.price",
    "opened_days_ago": 16,
}


@dataclass
class DemoResult:
    loaded: bool
    message: str


def demo_present() -> bool:
    return Service.objects.filter(name=CHILDRENS_SERVICE).exists()


def database_is_empty() -> bool:
    return not (Service.objects.exists() or Person.objects.exists())


class _Builder:
    def __init__(self, today: datetime.date) -> None:
        self.today = today
        self.random = random.Random(2026)  # noqa: S311 - seeded, for repeatable demo data
        self.password = make_password(DEMO_PASSWORD)
        self.people: dict[str, Person] = {}
        self.services: dict[str, Service] = {}
        self.teams: dict[str, Team] = {}

    def days_ago(self, days: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days)

    def person(
        self,
        username: str,
        full_name: str,
        role: str,
        service: Service | None,
        fte: str = "1.00",
        *,
        staff: bool = False,
    ) -> Person:
        user = get_user_model().objects.create(
            username=username,
            password=self.password,
            email=f"{username}@example.org",
            is_staff=staff,
            is_superuser=staff,
        )
        person = Person.objects.create(
            user=user, full_name=full_name, role=role, service=service, fte=Decimal(fte)
        )
        self.people[username] = person
        return person

    def build(self) -> None:
        self.services[CHILDRENS_SERVICE] = Service.objects.create(
            name=CHILDRENS_SERVICE, kind=Service.Kind.CHILDREN
        )
        self.services[ADULTS_SERVICE] = Service.objects.create(
            name=ADULTS_SERVICE, kind=Service.Kind.ADULTS
        )
        self.person(
            "dmt", "Dana Morris", Person.Role.SENIOR_MANAGER, self.services[CHILDRENS_SERVICE]
        )
        self.person(
            "dmt.adults", "Rob Ellis", Person.Role.SENIOR_MANAGER, self.services[ADULTS_SERVICE]
        )
        self.person("admin", "Alex Morgan", Person.Role.ADMINISTRATOR, None, staff=True)
        for plan in TEAMS:
            self.build_team(plan)
        for plan in TEAMS:
            self.build_cases(plan)
        self.build_mrs_harrison()

    def build_team(self, plan: TeamPlan) -> None:
        service = self.services[plan.service]
        team = Team.objects.create(
            service=service, name=plan.name, aspiration=Decimal(plan.aspiration)
        )
        self.teams[plan.name] = team
        manager = self.person(plan.manager[0], plan.manager[1], Person.Role.TEAM_MANAGER, service)
        team.managers.add(manager)
        for member in plan.members:
            person = self.person(
                member.username, member.full_name, member.role, service, member.fte
            )
            person.supervisor = self.people[member.supervisor] if member.supervisor else manager
            if member.role == ASYE:
                person.asye_start_date = self.days_ago(member.joined_days_ago)
            person.save()
            if member.username in MOVED:
                earlier_team, joined = MOVED[member.username]
                services.membership_start(
                    person=person, team=self.teams[earlier_team], start_date=self.days_ago(joined)
                )
            services.membership_start(
                person=person, team=team, start_date=self.days_ago(member.joined_days_ago)
            )

    def new_case(self, plan: TeamPlan, number: int, opened: datetime.date) -> Case:
        return services.case_create(
            team=self.teams[plan.name],
            reference=f"{plan.prefix}-{number}",
            label=self.random.choice(plan.labels),
            case_type=self.random.choice(plan.case_types),
            people_count=self.random.randint(1, plan.max_people),
            opened_on=opened,
            priority=Case.Priority.NORMAL,
        )

    def build_cases(self, plan: TeamPlan) -> None:
        team = self.teams[plan.name]
        manager = team.managers.get()
        number = plan.first_number
        case_holders = [m for m in plan.members if m.role in Person.CASE_HOLDING_ROLES]
        colleagues = [self.people[m.username] for m in case_holders]
        for member in case_holders:
            worker = self.people[member.username]
            joined = min(member.joined_days_ago, 540)
            for index in range(member.cases + member.closed):
                opened_ago = self.random.randint(20, joined)
                case = self.new_case(plan, number, self.days_ago(opened_ago))
                number += 1
                start_ago = opened_ago - self.random.randint(0, 10)
                # About one case in four came to this worker from a colleague.
                others = [c for c in colleagues if c != worker]
                first = worker
                if others and start_ago > 120 and self.random.random() < 0.25:
                    first = self.random.choice(others)
                if not self.could_hold(first, plan.name, start_ago):
                    first = worker
                    start_ago = min(start_ago, member.joined_days_ago)
                services.allocation_create(
                    case=case,
                    person=first,
                    start_date=self.days_ago(start_ago),
                    allocated_by=manager,
                    reason="New referral",
                )
                if first != worker:
                    moved_ago = self.random.randint(15, min(start_ago - 1, member.joined_days_ago))
                    services.case_reallocate(
                        case=case,
                        to_person=worker,
                        on=self.days_ago(moved_ago),
                        by=manager,
                        reason="Rebalancing caseloads",
                    )
                if index >= member.cases:
                    latest_start = case.allocations.order_by("-start_date").first().start_date
                    closed_ago = self.random.randint(1, max(1, (self.today - latest_start).days))
                    services.case_close(case=case, closed_on=self.days_ago(closed_ago), by=manager)
        self.build_queue(plan, number, manager)

    def could_hold(self, person: Person, team_name: str, days_ago: int) -> bool:
        member = next(
            m for plan in TEAMS for m in plan.members if m.username == person.user.username
        )
        return member.joined_days_ago >= days_ago and member.username not in MOVED

    def build_queue(self, plan: TeamPlan, number: int, manager: Person) -> None:
        priorities = [Case.Priority.URGENT, Case.Priority.HIGH, Case.Priority.NORMAL]
        for index in range(plan.unallocated):
            case = self.new_case(plan, number + index, self.days_ago(self.random.randint(1, 14)))
            case.priority = priorities[index % len(priorities)]
            case.save(update_fields=["priority"])
        if plan.name == "Child Protection":
            # A student is involved in two of her supervisor's cases.
            student = self.people["ella.shah"]
            supervisor = self.people["worker"]
            held = Case.objects.filter(
                allocations__person=supervisor, allocations__end_date__isnull=True
            ).order_by("reference")[:2]
            for case in held:
                services.allocation_create(
                    case=case,
                    person=student,
                    kind="involved",
                    start_date=self.days_ago(30),
                    allocated_by=manager,
                    reason="Student placement",
                )

    def build_mrs_harrison(self) -> None:
        plan = next(p for p in TEAMS if p.prefix == "AS")
        case = services.case_create(
            team=self.teams[plan.name],
            reference=MRS_HARRISON["reference"],
            label=MRS_HARRISON["label"],
            case_type=MRS_HARRISON["case_type"],
            people_count=1,
            opened_on=self.days_ago(MRS_HARRISON["opened_days_ago"]),
            priority=Case.Priority.HIGH,
        )
        services.allocation_create(
            case=case,
            person=self.people[MRS_HARRISON["holder"]],
            start_date=self.days_ago(MRS_HARRISON["opened_days_ago"] - 2),
            allocated_by=self.people[plan.manager[0]],
            reason="Son and GP report decline; reassessment needed",
        )


def load_demo(*, today: datetime.date | None = None) -> DemoResult:
    """Create the demo services, teams, people and cases (once)."""
    if demo_present():
        return DemoResult(False, "The demo data is already loaded.")
    with transaction.atomic():
        _Builder(today or timezone.localdate()).build()
    return DemoResult(True, "Loaded the demo data.")
