"""What the team page and the allocate page show, read once for the page:
the team's people with their numbers, supervision and concerns; the queue;
the candidates for a case, ranked by headroom."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

from django.db.models import Exists, Func, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.http import QueryDict

from allocation import services
from allocation.forms import AllocateForm, Candidate, candidates_by_headroom, posted_weight
from caseload.models import Case, CaseQuerySet, OverMaximum, Person, Service, Team
from supervision.models import SupervisionRecord, WorkloadConcern
from weighting.bands import Bands
from weighting.forecast import ASSUMES, SHOWN_WEEKS, membership_in, team_forecast, with_team_dates
from weighting.models import Criterion, pause_annotations
from weighting.numbers import CaseloadNumbers, full_capacity
from weighting.projection import (
    allocation_numbers,
    pause_factor,
    project_allocation,
    projections,
    unrated_weight,
)
from weighting.schemes_in_force import SchemeTerms, latest_rating
from weighting.services import scheme_in_force
from weighting.totals import TeamTotals, team_totals

# The team page ---------------------------------------------------------------


def count_of(rows: QuerySet) -> Subquery:
    """How many of `rows` there are, as a subquery: `rows` is filtered by an
    OuterRef to the row it counts for (COUNT without GROUP BY: 0 when none)."""
    count = Func("pk", function="COUNT", output_field=IntegerField())
    return Subquery(rows.order_by().annotate(n=count).values("n"))


def _queue(team: Team) -> CaseQuerySet:
    """The cases waiting in the team's queue, the only cases its page shows."""
    return Case.objects.unallocated().for_team(team)


def _team_people(team: Team, today: datetime.date) -> list[Person]:
    """The team's members today and its managers, in one query, each with
    their service (its band thresholds) and what the page shows beside their
    numbers: their last and next supervision, their open over-maximum record
    (the earliest review date) and their open workload concerns."""
    membership, counted = membership_in(team, today)
    manages = Exists(Team.managers.through.objects.filter(team=team, person=OuterRef("pk")))
    latest = SupervisionRecord.objects.held_for(OuterRef("pk"))
    over_maximum = (
        OverMaximum.objects.open().filter(person=OuterRef("pk")).order_by("review_by", "pk")
    )
    concerns = WorkloadConcern.objects.open().filter(person=OuterRef("pk"))
    return list(
        Person.objects.annotate(**membership, manages=manages)
        .filter(counted | Q(manages=True))
        .select_related("service")
        .annotate(
            last_held=Subquery(latest.values("held_on")[:1]),
            next_due=Subquery(latest.values("next_supervision")[:1]),
            over_maximum_pk=Subquery(over_maximum.values("pk")[:1]),
            over_maximum_review_by=Subquery(over_maximum.values("review_by")[:1]),
            open_concerns=count_of(concerns),
            overdue_concerns=count_of(concerns.filter(respond_by__lt=today)),
        )
        .order_by("full_name", "pk")
    )


def _member_rows(
    members: list[Person],
    numbers: dict[int, CaseloadNumbers],
    terms: SchemeTerms | None,
    service: Service,
) -> list[tuple]:
    """Each member with their numbers, their open over-maximum record, their
    supervision dates, and their full capacity (`full_capacity`) when an
    experience factor or a reduction makes theirs less."""
    rows = []
    for person in members:
        n = numbers[person.pk]
        full = full_capacity(terms, n.fte, service) if terms is not None else None
        rows.append(
            (
                person,
                n,
                {"pk": person.over_maximum_pk, "review_by": person.over_maximum_review_by}
                if person.over_maximum_pk
                else None,
                {"last_held": person.last_held, "next_due": person.next_due},
                full if full is not None and n.has_capacity and n.capacity < full else None,
            )
        )
    return rows


def _supervision_and_concerns(members: list[Person], today: datetime.date) -> dict:
    overdue = [
        person
        for person in members
        if person.role in Person.INVOLVED_ROLES and (person.next_due or today) < today
    ]
    return {
        "supervisions_overdue": len(overdue),
        "overdue_people": overdue,
        "open_concerns": sum(person.open_concerns for person in members),
        "overdue_concerns": sum(person.overdue_concerns for person in members),
    }


def team_page(team: Team, today: datetime.date, manages: bool) -> dict:
    """What the team page shows: its people's numbers today, their
    supervision and concerns, the queue of cases waiting, DMT decisions."""
    people = _team_people(team, today)
    members = [person for person in people if person.is_member]
    numbers, scheme, forecast = team_forecast(
        with_team_dates(people), today, team.service_id, team.pk
    )
    queue = [
        (case, (today - case.waiting_since).days)
        for case in _queue(team)
        .with_waiting_since()
        .annotate(
            weight=Subquery(latest_rating(today, "pk").values("total")[:1]),
            **pause_annotations(today),
        )
        .order_by("priority", "waiting_since", "reference")
    ]
    totals = team_totals(numbers.values()).get(team.pk, TeamTotals())
    bands = Bands.of(team.service)
    team_band = bands.band(totals.weighted_load, totals.capacity)
    first = forecast.first_over
    return {
        "team": team,
        **_supervision_and_concerns(members, today),
        "rows": _member_rows(members, numbers, scheme, team.service),
        "over_maximum_count": totals.over_maximum,
        "today": today,
        "totals": totals,
        # The team's capacity used, as the band tag shows a person's.
        "forecast": forecast,
        "forecast_assumes": ASSUMES,
        "first_over": (
            SimpleNamespace(day=forecast.days[first[0]], people=first[1]) if first else None
        ),
        "forecast_dates": [forecast.days[week] for week in (0, *SHOWN_WEEKS)],
        "forecast_rows": [
            (member.person, [member.points[week] for week in (0, *SHOWN_WEEKS)])
            for member in forecast.members
            if member.person.role in Person.CASE_HOLDING_ROLES
        ],
        "team_used": SimpleNamespace(
            percent_display=bands.percent_display(totals.percent),
            band=team_band,
            band_label=bands.label(team_band) if team_band else "",
        ),
        "scheme_terms": scheme,
        "above_aspiration": totals.above_aspiration(team.aspiration),
        "queue": queue,
        "unrated_weight": scheme.middle_total if scheme else None,
        "longest_wait": max((days for _, days in queue), default=None),
        "managers": [person for person in people if person.manages],
        "decisions": list(team.decisions.order_by("-meeting_on")[:3]),
        "open_issues": team.open_issues,
        "manages": manages,
    }


# The allocation journey ------------------------------------------------------


def candidates(
    case: Case, day: datetime.date, weight: Decimal | None, people: list[Person] | None = None
) -> list[Candidate]:
    """Case-holding members of the case's team (or `people`, read already), by
    headroom, with their numbers before and after taking the case."""
    if people is None:
        people = list(
            Person.objects.members_of(case.team, day)
            .filter(role__in=Person.CASE_HOLDING_ROLES)
            .select_related("supervisor", "service")
        )
    return candidates_by_headroom(people, project_allocation(case, people, day, weight))


def workers_and_students(case: Case, day: datetime.date) -> tuple[list[Person], list[Person]]:
    """The team's case-holding members and its students, from one query."""
    members = list(
        Person.objects.members_of(case.team, day)
        .filter(role__in=[*Person.CASE_HOLDING_ROLES, Person.Role.STUDENT])
        .select_related("supervisor", "service")
        .order_by("full_name", "pk")
    )
    return (
        [p for p in members if p.role in Person.CASE_HOLDING_ROLES],
        [p for p in members if p.role == Person.Role.STUDENT],
    )


def unrated_criteria(
    case: Case, day: datetime.date, scheme_id: int | None = None, rated: bool | None = None
) -> list:
    """The criteria of the team's scheme, when the case still needs a
    provisional rating (`scheme_id`: the version in force, and `rated`:
    whether the case has a rating on `day`, when read already)."""
    if rated is None:
        rated = case.ratings.filter(rated_on__lte=day).exists()
    if rated:
        return []
    if scheme_id is None:
        scheme = scheme_in_force(case.team, day)
        scheme_id = scheme.pk if scheme else None
    if scheme_id is None:
        return []
    # With their scheme: a provisional rating is made against it.
    return list(
        Criterion.objects.filter(scheme_id=scheme_id)
        .select_related("scheme")
        .prefetch_related("levels")
    )


def _worker_to_lock(data: QueryDict, workers: list[Person]) -> int | None:
    """The worker the form names, if they are one of the candidates."""
    posted = data.get("worker", "")
    return next((p.pk for p in workers if str(p.pk) == posted), None)


def allocate_form(
    case: Case, today: datetime.date, data: QueryDict | None
) -> tuple[AllocateForm, Person | None, Decimal | None]:
    """The allocate form for `case` (read with `has_worker`, `held_from_day`
    and `rated_total`): the team's workers by headroom with their numbers
    after taking the case, the criteria of a provisional rating when the
    case has none, and the team's students. With `data` (a form sent), the
    worker it names is locked before any numbers are read, so the
    over-the-maximum decision is made on numbers no other allocation
    changes. Also gives that worker, and the total of the levels sent."""
    workers, students = workers_and_students(case, today)
    worker_pk = _worker_to_lock(data, workers) if data is not None else None
    worker = services.lock_worker(worker_pk, case.team, today) if worker_pk else None
    numbers, schemes = allocation_numbers(case, workers, today)
    rated = case.rated_total is not None
    criteria = unrated_criteria(
        case, today, schemes.scheme_id_for(case.service_id, case.team_id), rated
    )
    weight = posted_weight(data, criteria)
    if rated:
        projected = Decimal(case.rated_total)
    else:
        projected = unrated_weight(case, schemes) if weight is None else weight
    # A paused case weighs its pause's factor of that (weighting.numbers).
    projected *= pause_factor(case, today)
    form = AllocateForm(
        data or None,
        candidates=candidates_by_headroom(workers, projections(case, numbers, projected)),
        criteria=criteria,
        students=students,
    )
    return form, worker, weight


# A person's plans ----------------------------------------------------------------


def fte_plan(person: Person, today: datetime.date) -> SimpleNamespace:
    """A person's contracted FTE today and the changes recorded from a later
    day, each with its hours a week (FTE × their service's full-time week),
    in one query. Today's follows the numbers' rule: the row in force today;
    before their first row, that row's; with no rows, the FTE on their record."""
    rows = list(person.fte_history.exclude(end_date__lte=today))
    full_time = person.full_time_hours
    now = rows[0].fte if rows else person.fte
    return SimpleNamespace(
        fte=now,
        hours=now * full_time,
        full_time=full_time,
        planned=[(row, row.fte * full_time) for row in rows if row.start_date > today],
    )
