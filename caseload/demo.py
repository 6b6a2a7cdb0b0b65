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

from allocation import services as allocation_services
from caseload import services
from caseload.dates import Quarter, add_months
from caseload.models import Case, Notification, OverMaximum, Person, Service, Team
from reports import services as reports
from reports.models import CapacityIssue, CaseloadSnapshot, DmtDecision, Escalation
from supervision import services as supervision
from supervision.models import SupervisionRecord, WorkloadConcern
from weighting import services as weighting
from weighting.numbers import OVER_MAXIMUM_BANDS, caseload_numbers

# The demo's history covers the past eight quarters and this one so far.
HISTORY_QUARTERS = 8
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
    joined_days_ago: int = 830  # before the history starts
    cases: int = 0  # open cases they hold today
    closed: int = 0  # cases they held that have since closed
    heaviness: float = 2.0  # the typical level of their cases on each criterion (1 to 3)


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
            Member("worker", "Asha Patel", SW, cases=13, closed=4, heaviness=2.6),
            Member(
                "ben.okafor",
                "Ben Okafor",
                ASYE,
                joined_days_ago=70,
                cases=9,
                closed=1,
                heaviness=2.5,
            ),
            Member("chloe.evans", "Chloe Evans", SW, fte="0.60", cases=7, closed=2, heaviness=2.1),
            Member("daniel.reid", "Daniel Reid", SW, cases=14, closed=5, heaviness=2.8),
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
            Member("george.hall", "George Hall", SW, cases=17, closed=4, heaviness=2.0),
            Member("hannah.wood", "Hannah Wood", SW, fte="0.80", cases=14, closed=3, heaviness=2.1),
            Member("isaac.brown", "Isaac Brown", SW, cases=18, closed=3, heaviness=2.35),
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
            Member("katie.lewis", "Katie Lewis", SW, cases=14, closed=3, heaviness=2.2),
            Member(
                "liam.turner",
                "Liam Turner",
                ASYE,
                joined_days_ago=200,
                cases=10,
                closed=2,
                heaviness=2.3,
            ),
            Member("maya.green", "Maya Green", SW, fte="0.50", cases=7, closed=2, heaviness=2.0),
            Member(
                "noah.clarke",
                "Noah Clarke",
                SW,
                joined_days_ago=150,
                cases=13,
                closed=1,
                heaviness=2.1,
            ),
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
            Member("oliver.price", "Oliver Price", SW, cases=15, closed=4, heaviness=2.2),
            Member("priya.nair", "Priya Nair", SW, fte="0.80", cases=12, closed=3, heaviness=2.0),
            Member(
                "rachel.young",
                "Rachel Young",
                ASYE,
                joined_days_ago=120,
                cases=9,
                closed=1,
                heaviness=2.2,
            ),
        ),
        unallocated=3,
    ),
)


def member_joined(username: str) -> int:
    """Days ago the member joined their (current) team."""
    return next(m.joined_days_ago for plan in TEAMS for m in plan.members if m.username == username)


# Noah Clarke moved from Child Protection to Looked After Children: his history
# counts him in CP until the move.
MOVED = {"noah.clarke": ("Child Protection", 830)}

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
        self.criteria_by_key: dict[tuple[int, int], dict[str, int]] = {}
        self.scheme_changes: list[datetime.date] = []  # the days schemes were agreed
        self.number = 0
        first_quarter = Quarter.containing(today)
        for _ in range(HISTORY_QUARTERS):
            first_quarter = first_quarter.previous
        self.history_days = (today - first_quarter.start).days

    def days_ago(self, days: int) -> datetime.date:
        return self.today - datetime.timedelta(days=days)

    def person(
        self,
        username: str,
        full_name: str,
        role: str,
        service: Service | None,
        fte: str = "1.00",
    ) -> Person:
        user = get_user_model().objects.create(
            username=username, password=self.password, email=f"{username}@example.org"
        )
        person = Person.objects.create(
            user=user, full_name=full_name, role=role, service=service, fte=Decimal(fte)
        )
        # The administrator is staff in the Administrators group, never a superuser.
        services.person_keep_access(person)
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
        self.person("admin", "Alex Morgan", Person.Role.ADMINISTRATOR, None)
        for service in self.services.values():
            weighting.scheme_create_default(service=service, agreed_on=self.days_ago(800))
        self.scheme_changes.append(self.days_ago(800))
        for plan in TEAMS:
            self.build_team(plan)
        self.build_team_scheme()
        self.build_capacity()
        for plan in TEAMS:
            self.build_cases(plan)
        self.build_mrs_harrison()
        self.review_over_maximum()
        self.build_snapshots_and_analyses()
        self.build_supervision()
        self.build_escalations_and_reviews()
        self.build_dmt_decisions()

    def build_team_scheme(self) -> None:
        """Children with Disabilities agreed its own version: more points per
        worker, since many of its cases are short breaks reviews."""
        team = self.teams["Children with Disabilities"]
        draft = weighting.scheme_draft_new_version(team=team, by=team.managers.get())
        weighting.scheme_update_draft(
            scheme=draft,
            name="Children with Disabilities weighting",
            benchmark=Decimal("110"),
            criteria=weighting.criteria_of(draft),
        )
        weighting.scheme_agree(scheme=draft, agreed_on=self.days_ago(300), by=team.managers.get())
        self.scheme_changes.append(self.days_ago(300))

    def build_capacity(self) -> None:
        """ASYE factors agreed in supervision, and some protected time."""
        for plan in TEAMS:
            for member in plan.members:
                if member.role != ASYE:
                    continue
                person = self.people[member.username]
                weighting.experience_factor_set(
                    person=person,
                    factor=Decimal("0.8"),
                    start_date=self.days_ago(member.joined_days_ago),
                    reason="ASYE: about 80% of a full caseload to start",
                    by=person.supervisor,
                )
                if member.joined_days_ago > 150:
                    weighting.experience_factor_set(
                        person=person,
                        factor=Decimal("0.9"),
                        start_date=self.days_ago(member.joined_days_ago - 120),
                        reason="Agreed in supervision at the four-month review",
                        by=person.supervisor,
                    )
        reductions = [
            ("worker", "practice_educator", {"hours_per_week": Decimal("3.7")}, 200, None),
            ("daniel.reid", "union_duties", {"percentage": Decimal("10")}, 400, None),
            ("katie.lewis", "training", {"hours_per_week": Decimal("2")}, 300, 200),
            ("hannah.wood", "phased_return", {"percentage": Decimal("20")}, 60, 20),
        ]
        for username, reason, amount, since, until in reductions:
            weighting.reduction_create(
                person=self.people[username],
                reason=reason,
                start_date=self.days_ago(since),
                end_date=self.days_ago(until) if until else None,
                by=self.people[username].supervisor,
                **amount,
            )

    def criteria_ids(self, team: Team, day: datetime.date) -> dict[str, int]:
        # The schemes in force change on a few days only: look each up once.
        key = (team.pk, sum(day >= changed for changed in self.scheme_changes))
        if key not in self.criteria_by_key:
            scheme = weighting.scheme_in_force(team, day)
            self.criteria_by_key[key] = {c.name: c.pk for c in scheme.criteria.all()}
        return self.criteria_by_key[key]

    def levels(self, heaviness: float) -> dict[str, int]:
        def level(mean: float) -> int:
            return max(1, min(3, round(self.random.gauss(mean, 0.6))))

        return {
            "Complexity": level(heaviness),
            "Risk": level(heaviness),
            "Travel": level(heaviness - 0.7),
        }

    def rate(
        self,
        case: Case,
        on: datetime.date,
        levels: dict[str, int],
        *,
        status: str,
        by: Person,
        agreed_with: Person | None = None,
        anticipated: dict[str, int] | None = None,
        anticipated_by: datetime.date | None = None,
        changes: dict[str, str] | None = None,
    ) -> None:
        ids = self.criteria_ids(case.team, on)
        weighting.rating_create(
            case=case,
            levels={ids[name]: Decimal(value) for name, value in levels.items()},
            rated_on=on,
            rated_by=by,
            status=status,
            agreed_with=agreed_with,
            anticipated_levels=(
                {ids[name]: Decimal(value) for name, value in anticipated.items()}
                if anticipated
                else None
            ),
            anticipated_by=anticipated_by,
            anticipated_changes={ids[name]: text for name, text in (changes or {}).items()},
        )

    def build_ratings(
        self, case: Case, member: Member, holders: list[tuple[int, Person]], manager: Person
    ) -> None:
        """A provisional rating at allocation, then ratings agreed in
        supervision every five to eight weeks, some interim re-ratings between,
        and on some open cases an anticipated rating for the next supervision."""
        first_start = holders[0][0]
        if first_start < 40 and self.random.random() < 0.5:
            return  # allocated recently and not rated yet
        self.rate(
            case,
            self.days_ago(first_start),
            self.levels(member.heaviness),
            status="provisional",
            by=manager,
        )
        closed_ago = (self.today - case.closed_on).days if case.closed_on else 0
        days = []
        day = first_start - self.random.randint(20, 40)
        while day > closed_ago:
            days.append(day)
            # Past cases: rated less often, to keep the demo quick to load.
            day -= self.random.randint(35, 56) if case.is_open else self.random.randint(70, 120)
        for index, day in enumerate(days):
            levels = self.levels(member.heaviness)
            if self.random.random() < 0.2:
                self.rate(case, self.days_ago(day), levels, status="interim", by=manager)
                continue
            holder = next(person for since, person in reversed(holders) if since >= day)
            anticipation = {}
            if index == len(days) - 1 and case.is_open and self.random.random() < 0.35:
                # Expected by the next supervision: some are due, some overdue.
                anticipation = {
                    "anticipated": {
                        name: max(1, value - self.random.randint(0, 1))
                        for name, value in levels.items()
                    },
                    "anticipated_by": self.days_ago(day - self.random.randint(14, 28)),
                    "changes": {"Risk": "Assessment completed and a safety plan agreed"},
                }
            self.rate(
                case,
                self.days_ago(day),
                levels,
                status="agreed",
                by=manager,
                agreed_with=holder,
                **anticipation,
            )

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
        """Each open case a worker holds today stands in a line of cases that
        the same place in their caseload held before, back to their first day,
        so that caseloads over the two years are steady, as real ones are. A
        few more cases opened and closed recently."""
        team = self.teams[plan.name]
        manager = team.managers.get()
        self.number = plan.first_number
        case_holders = [m for m in plan.members if m.role in Person.CASE_HOLDING_ROLES]
        colleagues = [self.people[m.username] for m in case_holders]
        for member in case_holders:
            # Each worker's cases from their own seed: a change to one worker's
            # plan leaves everyone else's cases as they were.
            self.random = random.Random(f"2026-{member.username}")  # noqa: S311
            joined = member.joined_days_ago
            for _ in range(member.cases):
                start_ago = self.add_case(
                    plan, member, colleagues, manager, self.random.randint(20, min(joined, 420))
                )
                while start_ago < joined - 90:
                    closed_ago = start_ago + self.random.randint(1, 21)
                    opened_ago = min(joined, closed_ago + self.random.randint(120, 420))
                    if opened_ago - closed_ago < 30:
                        break
                    start_ago = self.add_case(
                        plan, member, colleagues, manager, opened_ago, closed_ago
                    )
            for _ in range(member.closed):
                opened_ago = self.random.randint(40, min(joined, 200))
                self.add_case(
                    plan,
                    member,
                    colleagues,
                    manager,
                    opened_ago,
                    self.random.randint(1, opened_ago - 30),
                )
        self.build_queue(plan, self.number, manager)

    def add_case(
        self,
        plan: TeamPlan,
        member: Member,
        colleagues: list[Person],
        manager: Person,
        opened_ago: int,
        closed_ago: int | None = None,
    ) -> int:
        """A case opened `opened_ago` days ago, held by `member` (about one in
        four came from a colleague first), closed `closed_ago` days ago if
        given, and rated. Returns how many days ago it was first allocated."""
        worker = self.people[member.username]
        case = self.new_case(plan, self.number, self.days_ago(opened_ago))
        self.number += 1
        start_ago = opened_ago - self.random.randint(0, 10)
        if closed_ago is not None:
            start_ago = max(start_ago, closed_ago + 20)
        others = [c for c in colleagues if c != worker]
        first = worker
        earliest_move = max(15, (closed_ago or 0) + 1)
        if others and start_ago > 120 and self.random.random() < 0.25:
            first = self.random.choice(others)
        if not self.could_hold(first, plan.name, start_ago) or (
            earliest_move >= min(start_ago - 1, member.joined_days_ago)
        ):
            first = worker
            start_ago = min(start_ago, member.joined_days_ago)
        allocation_services.allocation_create(
            case=case,
            person=first,
            start_date=self.days_ago(start_ago),
            allocated_by=manager,
            reason="New referral",
            over_maximum=self.over_maximum_plan(start_ago),
        )
        # (days ago each holder started, holder), latest last.
        holders = [(start_ago, first)]
        if first != worker:
            moved_ago = self.random.randint(
                earliest_move, min(start_ago - 1, member.joined_days_ago)
            )
            allocation_services.case_reallocate(
                case=case,
                to_person=worker,
                on=self.days_ago(moved_ago),
                by=manager,
                reason="Rebalancing caseloads",
                over_maximum=self.over_maximum_plan(moved_ago),
            )
            holders.append((moved_ago, worker))
        if closed_ago is not None:
            case = services.case_close(case=case, closed_on=self.days_ago(closed_ago), by=manager)
        self.build_ratings(case, member, holders, manager)
        return start_ago

    def over_maximum_plan(self, start_ago: int) -> allocation_services.OverMaximumPlan:
        """What the manager records if this allocation takes the worker over the
        maximum (the write function uses it only if it does)."""
        return allocation_services.OverMaximumPlan(
            reason="Urgent work and nobody in the team had capacity",
            reprioritisation="Two lower-risk cases to step down; reports deadlines agreed again",
            review_by=self.days_ago(start_ago - 42),
        )

    def review_over_maximum(self) -> None:
        """Older over-maximum allocations were reviewed and resolved; for anyone
        still over the maximum today the latest stays open, extended if due."""
        still_over = {
            person_id
            for person_id, numbers in caseload_numbers(
                Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES), self.today
            ).items()
            if numbers.over_maximum
        }
        latest: dict[int, OverMaximum] = {}
        for record in OverMaximum.objects.order_by("allocation__start_date", "pk"):
            latest[record.person_id] = record
        for record in OverMaximum.objects.select_related("person__supervisor"):
            manager = record.person.supervisor
            keep = record.person_id in still_over and latest[record.person_id] == record
            if not keep:
                allocation_services.over_maximum_review(
                    record=record,
                    reviewed_on=min(record.review_by, self.today),
                    outcome="resolved",
                    note="Reviewed in supervision: cases moved on and the load came down",
                    by=manager,
                )
            elif record.review_by < self.days_ago(10):
                allocation_services.over_maximum_review(
                    record=record,
                    reviewed_on=self.days_ago(10),
                    outcome="extended",
                    note="Still over: two cases close next month; agreed to review again",
                    new_review_by=self.days_ago(-25),
                    by=manager,
                )

    def build_snapshots_and_analyses(self) -> None:
        """What the scheduled jobs would have stored over the history: daily
        snapshots and each worker's 12-week analyses (which the supervision
        records then discuss)."""
        first = self.days_ago(self.history_days)
        reports.backfill_snapshots(first, self.today)
        joined = {
            self.people[m.username].pk: m.joined_days_ago
            for plan in TEAMS
            for m in plan.members
            if m.role in Person.CASE_HOLDING_ROLES
        }
        # Every 84 days from a worker's first day in a team.
        analysis_days: dict[int, list[int]] = {}
        for person_id, days_ago in joined.items():
            for ago in range(min(days_ago, self.history_days) - 84, -1, -84):
                analysis_days.setdefault(ago, []).append(person_id)
        for ago, person_ids in sorted(analysis_days.items(), reverse=True):
            reports.analyse(person_ids, self.days_ago(ago), notify_people=False)

    def build_escalations_and_reviews(self) -> None:
        """The snapshots brought up to date with the ratings agreed in
        supervision, then escalations (those whose run over the maximum ended
        are resolved) and the past eight quarterly reviews."""
        reports.recompute_stale()
        senior = {p.service_id: p for p in Person.objects.filter(role=Person.Role.SENIOR_MANAGER)}
        over = {
            (row["person_id"], row["day"])
            for row in CaseloadSnapshot.objects.filter(band__in=OVER_MAXIMUM_BANDS).values(
                "person_id", "day"
            )
        }
        # Run the escalation job on the days it would have escalated someone:
        # the first day after three months of an unbroken run over the maximum.
        runs: list[list[datetime.date]] = []
        last_person = None
        for person_id, day in sorted(over):
            if person_id != last_person or (day - runs[-1][-1]).days > 1:
                runs.append([])
            runs[-1].append(day)
            last_person = person_id
        for run in sorted(runs, key=lambda run: run[0]):
            self.escalate_run(run, senior)
        for escalation in Escalation.objects.open().select_related("person__supervisor"):
            reports.escalation_assess(
                escalation=escalation,
                work_ongoing=True,
                assessment="Most of the court work continues into next year; a new starter "
                "in January should take four cases.",
                by=escalation.person.supervisor,
            )
        quarter = Quarter.containing(self.today)
        for _ in range(HISTORY_QUARTERS):
            quarter = quarter.previous
            for service in self.services.values():
                reports.quarterly_review(service, quarter)

    def build_dmt_decisions(self) -> None:
        """DMT's decisions at the meeting after the quarter before last, and a
        capacity issue a manager has just put on the agenda."""
        dmt = self.people["dmt"]
        quarter = Quarter.containing(self.today).previous.previous
        meeting = min(quarter.end + datetime.timedelta(days=14), self.today)
        reports.decision_record(
            team=self.teams["Children with Disabilities"],
            quarter=quarter,
            kind=DmtDecision.Kind.AGREED,
            reason="Long-term families with complex needs: the team holds above its "
            "aspiration of 25 while two posts are recruited to.",
            actions="",
            review_by=add_months(meeting, 6),
            meeting_on=meeting,
            minute_reference=f"DMT/{meeting:%Y/%m}/4",
            capacity_issue=None,
            by=dmt,
        )
        reports.decision_record(
            team=self.teams["Child Protection"],
            quarter=quarter,
            kind=DmtDecision.Kind.ACTIONS,
            reason="",
            actions="An agency social worker for three months; no new allocations to "
            "workers over the maximum until their load is back under it.",
            review_by=add_months(meeting, 3),
            meeting_on=meeting,
            minute_reference=f"DMT/{meeting:%Y/%m}/5",
            capacity_issue=None,
            by=dmt,
        )
        looked_after = self.teams["Looked After Children"]
        issue = reports.capacity_issue_raise(
            team=looked_after,
            by=looked_after.managers.first(),
            summary="Two leavers in December: caseloads will pass 22 children per FTE",
            detail="Two social workers leave on 18 December and the posts are not yet "
            "advertised. Spreading their cases would take every worker above the "
            "aspiration. We need agreement to advertise now and cover from agency staff.",
        )
        CapacityIssue.objects.filter(pk=issue.pk).update(raised_on=self.days_ago(9))

    def escalate_run(self, run: list[datetime.date], senior: dict[int, Person]) -> None:
        """Escalate a past run over the maximum as the daily job would have;
        one that has ended was resolved the day after."""
        due = add_months(run[0], 3) + datetime.timedelta(days=1)
        if due > run[-1]:
            return
        reports.escalate(due)
        if run[-1] == self.today:
            return
        for escalation in Escalation.objects.open().filter(over_since=run[0]):
            Escalation.objects.filter(pk=escalation.pk).update(
                work_ongoing=True,
                assessment="The cases are long-term child protection work.",
                assessed_by=escalation.person.supervisor,
                status=Escalation.Status.RESOLVED,
                outcome="Agreed at DMT: two cases moved to a colleague with capacity and "
                "no new allocations until the load is under the maximum.",
                resolved_by=senior[escalation.service_id],
                resolved_on=run[-1] + datetime.timedelta(days=1),
            )

    def build_supervision(self) -> None:
        """Supervision records over the last 12 weeks, signed by both; views
        of workload, a proposed re-rating, and workload concerns."""
        # (username, weeks since the last supervision, view of their workload)
        plans = {
            "worker": (3, 3, "Two court reports are due the same week"),
            "ben.okafor": (1, 3, "Asha has been a great support"),
            "chloe.evans": (2, 2, ""),
            "daniel.reid": (6, 4, "I am working late most evenings"),
            "george.hall": (3, 2, ""),
            "hannah.wood": (2, 3, ""),
            "isaac.brown": (4, 4, "Since two colleagues left"),
            "katie.lewis": (3, 2, ""),
            "liam.turner": (1, 2, ""),
            "maya.green": (2, 1, ""),
            "noah.clarke": (5, 2, ""),
            "oliver.price": (2, 3, ""),
            "priya.nair": (3, 2, ""),
            "rachel.young": (1, 3, ""),
        }
        for username, (weeks_ago, scale, comment) in plans.items():
            worker = self.people[username]
            supervisor = worker.supervisor
            interval = supervision.supervision_interval(worker).days
            # An analysis about twelve weeks ago, then regular supervisions since.
            held = [self.days_ago(weeks_ago * 7 + interval * n) for n in range(3, -1, -1)]
            for index, held_on in enumerate(held):
                if held_on < self.days_ago(min(member_joined(username), 500) - 7):
                    continue
                record = supervision.record_open(
                    worker=worker, supervisor=supervisor, held_on=held_on
                )
                change = supervision.RecordChange(
                    caseload_discussion="Went through each case: the court work and the "
                    "newest referrals take most of the time; travel is light.",
                    deviation_agreed=False,
                    time_for_direct_work="About half the week with children and families."
                    if record.analysis_included
                    else "",
                    other_demands="Reports and meetings crowd out visits near court dates."
                    if record.analysis_included
                    else "",
                    actions="Keep Thursday mornings for visits.",
                    next_supervision=held_on + datetime.timedelta(days=interval),
                )
                supervision.record_save_draft(record=record, change=change)
                supervision.record_sign_supervisor(record=record, by=supervisor)
                disagreement = (
                    "I do not agree the court work is manageable alongside the new referrals."
                    if username == "daniel.reid" and index == len(held) - 1
                    else ""
                )
                supervision.record_sign_worker(record=record, by=worker, disagreement=disagreement)
                signed = timezone.make_aware(
                    datetime.datetime.combine(held_on, datetime.time(15, 30))
                )
                SupervisionRecord.objects.filter(pk=record.pk).update(
                    supervisor_signed_at=signed, worker_signed_at=signed
                )
            if comment:
                supervision.workload_view_record(person=worker, scale=scale, comment=comment)
        # Asha proposes that a case she holds is re-rated before her next supervision.
        asha = self.people["worker"]
        case = (
            Case.objects.filter(
                allocations__person=asha, allocations__end_date__isnull=True, ratings__isnull=False
            )
            .distinct()
            .order_by("reference")
            .first()
        )
        ids = self.criteria_ids(case.team, self.today)
        supervision.proposal_create(
            case=case,
            person=asha,
            levels={
                ids["Complexity"]: Decimal(3),
                ids["Risk"]: Decimal(3),
                ids["Travel"]: Decimal(1),
            },
            why="Police and health now both involved; a new strategy meeting is needed",
        )
        # Daniel raised a concern eight working days ago that has no response yet;
        # Isaac's concern has one.
        daniel = supervision.concern_raise(
            person=self.people["daniel.reid"],
            concern="I have had four new cases in three weeks and I am working late most "
            "evenings to keep up with visits and court reports.",
        )
        WorkloadConcern.objects.filter(pk=daniel.pk).update(
            raised_at=timezone.now() - datetime.timedelta(days=12),
            respond_by=self.days_ago(4),
        )
        isaac = supervision.concern_raise(
            person=self.people["isaac.brown"],
            concern="Since two colleagues left I am covering their short breaks reviews too.",
        )
        supervision.concern_respond(
            concern=isaac,
            response="Agreed: the six reviews move to the new starter from next month, and "
            "no new allocations to you until then.",
            by=self.people["cwd.manager"],
        )

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
            if index % 2 == 0:
                # Screened at referral: a provisional rating before allocation.
                self.rate(
                    case,
                    case.opened_on,
                    self.levels(2.2),
                    status="provisional",
                    by=manager,
                )
        if plan.name == "Child Protection":
            # A student is involved in two of her supervisor's cases.
            student = self.people["ella.shah"]
            supervisor = self.people["worker"]
            held = Case.objects.filter(
                allocations__person=supervisor, allocations__end_date__isnull=True
            ).order_by("reference")[:2]
            for case in held:
                allocation_services.allocation_create(
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
        allocation_services.allocation_create(
            case=case,
            person=self.people[MRS_HARRISON["holder"]],
            start_date=self.days_ago(MRS_HARRISON["opened_days_ago"] - 2),
            allocated_by=self.people[plan.manager[0]],
            reason="Son and GP report decline; reassessment needed",
            over_maximum=self.over_maximum_plan(MRS_HARRISON["opened_days_ago"] - 2),
        )
        manager, holder = self.people[plan.manager[0]], self.people[MRS_HARRISON["holder"]]
        allocated_ago = MRS_HARRISON["opened_days_ago"] - 2
        self.rate(
            case,
            self.days_ago(allocated_ago),
            {"Complexity": 3, "Risk": 2, "Travel": 1},
            status="provisional",
            by=manager,
        )
        # Seed 000: rated 3 + 3 + 1 = 7 in supervision, expected to lessen by
        # the next supervision in two weeks.
        self.rate(
            case,
            self.days_ago(2),
            {"Complexity": 3, "Risk": 3, "Travel": 1},
            status="agreed",
            by=manager,
            agreed_with=holder,
            anticipated={"Complexity": 3, "Risk": 2, "Travel": 1},
            anticipated_by=self.days_ago(2 - 14),
            changes={
                "Risk": "A clearer picture of her health, the risks to her well-being and "
                "what they mean for living at home",
                "Complexity": "Renewed contact with her, her son and her GP to negotiate "
                "the options, by her wishes",
            },
        )


def load_demo(*, today: datetime.date | None = None) -> DemoResult:
    """Create the demo services, teams, people and cases (once)."""
    if demo_present():
        return DemoResult(False, "The demo data is already loaded.")
    started = timezone.now()
    with transaction.atomic():
        _Builder(today or timezone.localdate()).build()
        # The demo's history happened in the past: nobody is emailed about it.
        Notification.objects.filter(created_at__gte=started, sent_at__isnull=True).update(
            sent_at=timezone.now()
        )
    return DemoResult(True, "Loaded the demo data.")
