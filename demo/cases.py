"""The demo's cases, allocations and ratings: each worker's caseload over
two years, the queue waiting for allocation, and the over-maximum records
a manager keeps when an allocation takes a worker over the maximum."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from allocation import services as allocation_services
from caseload import services
from caseload.models import Case, OverMaximum, Person
from demo.council import Council
from demo.plan import MOVED, MRS_HARRISON, TEAMS, Member, TeamPlan
from weighting import services as weighting
from weighting.numbers import caseload_numbers


def new_case(council: Council, plan: TeamPlan, number: int, opened: datetime.date) -> Case:
    return services.case_create(
        team=council.teams[plan.name],
        reference=f"{plan.prefix}-{number}",
        label=council.random.choice(plan.labels),
        case_type=council.random.choice(plan.case_types),
        people_count=council.random.randint(1, plan.max_people),
        opened_on=opened,
        priority=Case.Priority.NORMAL,
    )


def build_cases(council: Council, plan: TeamPlan) -> None:
    """Each open case a worker holds today stands in a line of cases that
    the same place in their caseload held before, back to their first day,
    so that caseloads over the two years are steady, as real ones are. A
    few more cases opened and closed recently."""
    team = council.teams[plan.name]
    manager = team.managers.get()
    council.number = plan.first_number
    case_holders = [m for m in plan.members if m.role in Person.CASE_HOLDING_ROLES]
    colleagues = [council.people[m.username] for m in case_holders]
    for member in case_holders:
        # Each worker's cases from their own seed: a change to one worker's
        # plan leaves everyone else's cases as they were.
        council.random = random.Random(f"2026-{member.username}")  # noqa: S311
        joined = member.joined_days_ago
        for _ in range(member.cases):
            start_ago = add_case(
                council,
                plan,
                member,
                colleagues,
                manager,
                council.random.randint(20, min(joined, 420)),
            )
            while start_ago < joined - 90:
                closed_ago = start_ago + council.random.randint(1, 21)
                opened_ago = min(joined, closed_ago + council.random.randint(120, 420))
                if opened_ago - closed_ago < 30:
                    break
                start_ago = add_case(
                    council, plan, member, colleagues, manager, opened_ago, closed_ago
                )
        for _ in range(member.closed):
            opened_ago = council.random.randint(40, min(joined, 200))
            add_case(
                council,
                plan,
                member,
                colleagues,
                manager,
                opened_ago,
                council.random.randint(1, opened_ago - 30),
            )
    build_queue(council, plan, council.number, manager)


def add_case(
    council: Council,
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
    worker = council.people[member.username]
    case = new_case(council, plan, council.number, council.days_ago(opened_ago))
    council.number += 1
    start_ago = opened_ago - council.random.randint(0, 10)
    if closed_ago is not None:
        start_ago = max(start_ago, closed_ago + 20)
    others = [c for c in colleagues if c != worker]
    first = worker
    earliest_move = max(15, (closed_ago or 0) + 1)
    if others and start_ago > 120 and council.random.random() < 0.25:
        first = council.random.choice(others)
    if not could_hold(first, plan.name, start_ago) or (
        earliest_move >= min(start_ago - 1, member.joined_days_ago)
    ):
        first = worker
        start_ago = min(start_ago, member.joined_days_ago)
    allocation_services.allocation_create(
        case=case,
        person=first,
        start_date=council.days_ago(start_ago),
        allocated_by=manager,
        reason="New referral",
        over_maximum=over_maximum_plan(council, start_ago),
    )
    # (days ago each holder started, holder), latest last.
    holders = [(start_ago, first)]
    if first != worker:
        moved_ago = council.random.randint(
            earliest_move, min(start_ago - 1, member.joined_days_ago)
        )
        allocation_services.case_reallocate(
            case=case,
            to_person=worker,
            on=council.days_ago(moved_ago),
            by=manager,
            reason="Rebalancing caseloads",
            over_maximum=over_maximum_plan(council, moved_ago),
        )
        holders.append((moved_ago, worker))
    if closed_ago is not None:
        case = services.case_close(case=case, closed_on=council.days_ago(closed_ago), by=manager)
    build_ratings(council, case, member, holders, manager)
    return start_ago


def could_hold(person: Person, team_name: str, days_ago: int) -> bool:
    member = next(m for plan in TEAMS for m in plan.members if m.username == person.user.username)
    return member.joined_days_ago >= days_ago and member.username not in MOVED


def over_maximum_plan(council: Council, start_ago: int) -> allocation_services.OverMaximumPlan:
    """What the manager records if this allocation takes the worker over the
    maximum (the write function uses it only if it does)."""
    return allocation_services.OverMaximumPlan(
        reason="Urgent work and nobody in the team had capacity",
        reprioritisation="Two lower-risk cases to step down; reports deadlines agreed again",
        review_by=council.days_ago(start_ago - 42),
    )


def draw_levels(council: Council, heaviness: float) -> dict[str, int]:
    def level(mean: float) -> int:
        return max(1, min(3, round(council.random.gauss(mean, 0.6))))

    return {
        "Complexity": level(heaviness),
        "Risk": level(heaviness),
        "Travel": level(heaviness - 0.7),
    }


def rate(
    council: Council,
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
    ids = council.criteria_ids(case.team, on)
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
    council: Council, case: Case, member: Member, holders: list[tuple[int, Person]], manager: Person
) -> None:
    """A provisional rating at allocation, then ratings agreed in
    supervision every five to eight weeks, some interim re-ratings between,
    and on some open cases an anticipated rating for the next supervision."""
    first_start = holders[0][0]
    if first_start < 40 and council.random.random() < 0.5:
        return  # allocated recently and not rated yet
    rate(
        council,
        case,
        council.days_ago(first_start),
        draw_levels(council, member.heaviness),
        status="provisional",
        by=manager,
    )
    closed_ago = (council.today - case.closed_on).days if case.closed_on else 0
    days = []
    day = first_start - council.random.randint(20, 40)
    while day > closed_ago:
        days.append(day)
        # Past cases: rated less often, to keep the demo quick to load.
        day -= council.random.randint(35, 56) if case.is_open else council.random.randint(70, 120)
    for index, day in enumerate(days):
        levels = draw_levels(council, member.heaviness)
        if council.random.random() < 0.2:
            rate(council, case, council.days_ago(day), levels, status="interim", by=manager)
            continue
        holder = next(person for since, person in reversed(holders) if since >= day)
        anticipation = {}
        if index == len(days) - 1 and case.is_open and council.random.random() < 0.35:
            # Expected by the next supervision: some are due, some overdue.
            anticipation = {
                "anticipated": {
                    name: max(1, value - council.random.randint(0, 1))
                    for name, value in levels.items()
                },
                "anticipated_by": council.days_ago(day - council.random.randint(14, 28)),
                "changes": {"Risk": "Assessment completed and a safety plan agreed"},
            }
        rate(
            council,
            case,
            council.days_ago(day),
            levels,
            status="agreed",
            by=manager,
            agreed_with=holder,
            **anticipation,
        )


def build_queue(council: Council, plan: TeamPlan, number: int, manager: Person) -> None:
    priorities = [Case.Priority.URGENT, Case.Priority.HIGH, Case.Priority.NORMAL]
    for index in range(plan.unallocated):
        case = new_case(
            council, plan, number + index, council.days_ago(council.random.randint(1, 14))
        )
        case.priority = priorities[index % len(priorities)]
        case.save(update_fields=["priority"])
        if index % 2 == 0:
            # Screened at referral: a provisional rating before allocation.
            rate(
                council,
                case,
                case.opened_on,
                draw_levels(council, 2.2),
                status="provisional",
                by=manager,
            )
    if plan.name == "Child Protection":
        # A student is involved in two of her supervisor's cases.
        student = council.people["ella.shah"]
        supervisor = council.people["worker"]
        held = Case.objects.filter(
            allocations__person=supervisor, allocations__end_date__isnull=True
        ).order_by("reference")[:2]
        for case in held:
            allocation_services.allocation_create(
                case=case,
                person=student,
                kind="involved",
                start_date=council.days_ago(30),
                allocated_by=manager,
                reason="Student placement",
            )


def build_mrs_harrison(council: Council) -> None:
    plan = next(p for p in TEAMS if p.prefix == "AS")
    case = services.case_create(
        team=council.teams[plan.name],
        reference=MRS_HARRISON["reference"],
        label=MRS_HARRISON["label"],
        case_type=MRS_HARRISON["case_type"],
        people_count=1,
        opened_on=council.days_ago(MRS_HARRISON["opened_days_ago"]),
        priority=Case.Priority.HIGH,
    )
    allocation_services.allocation_create(
        case=case,
        person=council.people[MRS_HARRISON["holder"]],
        start_date=council.days_ago(MRS_HARRISON["opened_days_ago"] - 2),
        allocated_by=council.people[plan.manager[0]],
        reason="Son and GP report decline; reassessment needed",
        over_maximum=over_maximum_plan(council, MRS_HARRISON["opened_days_ago"] - 2),
    )
    manager, holder = council.people[plan.manager[0]], council.people[MRS_HARRISON["holder"]]
    allocated_ago = MRS_HARRISON["opened_days_ago"] - 2
    rate(
        council,
        case,
        council.days_ago(allocated_ago),
        {"Complexity": 3, "Risk": 2, "Travel": 1},
        status="provisional",
        by=manager,
    )
    # Seed 000: rated 3 + 3 + 1 = 7 in supervision, expected to lessen by
    # the next supervision in two weeks.
    rate(
        council,
        case,
        council.days_ago(2),
        {"Complexity": 3, "Risk": 3, "Travel": 1},
        status="agreed",
        by=manager,
        agreed_with=holder,
        anticipated={"Complexity": 3, "Risk": 2, "Travel": 1},
        anticipated_by=council.days_ago(2 - 14),
        changes={
            "Risk": "A clearer picture of her health, the risks to her well-being and "
            "what they mean for living at home",
            "Complexity": "Renewed contact with her, her son and her GP to negotiate "
            "the options, by her wishes",
        },
    )


def review_over_maximum(council: Council) -> None:
    """Older over-maximum allocations were reviewed and resolved; for anyone
    still over the maximum today the latest stays open, extended if due."""
    still_over = {
        person_id
        for person_id, numbers in caseload_numbers(
            Person.objects.filter(role__in=Person.CASE_HOLDING_ROLES), council.today
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
                reviewed_on=min(record.review_by, council.today),
                outcome="resolved",
                note="Reviewed in supervision: cases moved on and the load came down",
                by=manager,
            )
        elif record.review_by < council.days_ago(10):
            allocation_services.over_maximum_review(
                record=record,
                reviewed_on=council.days_ago(10),
                outcome="extended",
                note="Still over: two cases close next month; agreed to review again",
                new_review_by=council.days_ago(-25),
                by=manager,
            )


def pause_a_case(council: Council) -> None:
    """One of Asha's cases has been awaiting closure for ten days: it counts
    at half its weight (docs/adr/0033), tagged on her caseload and the
    team page."""
    worker = council.people["worker"]
    case = (
        Case.objects.open()
        .filter(allocations__person=worker, allocations__kind="primary")
        .filter(allocations__end_date__isnull=True)
        .order_by("reference")
        .first()
    )
    if case is None:
        return
    weighting.case_pause(
        case=case,
        reason=case.service.pause_reasons.get(name="Awaiting closure"),
        start_date=council.days_ago(10),
        by=case.team.managers.order_by("pk").first(),
    )
