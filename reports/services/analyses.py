"""The 12-week caseload analyses: each case-holding worker's weekly numbers
over the 12 weeks to a day, with their new and closed cases and the views
they recorded, stored for their next supervision."""

from __future__ import annotations

import datetime
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Min

from caseload.dates import long_date
from caseload.db import among
from caseload.models import Allocation, Person, TeamMembership
from caseload.notifications import Email, queue_emails
from reports.models import CaseloadAnalysis
from reports.services.snapshots import fit
from supervision.models import WorkloadView
from supervision.services import analysis_due
from weighting.numbers import caseload_series

ZERO = Decimal(0)
ANALYSIS_WEEKS = 12
# Rows per INSERT: each carries its 13 weekly points as JSON.
ANALYSIS_BATCH = 1000


def last_analysis_days(person_ids: list[int]) -> dict[int, datetime.date]:
    return dict(
        CaseloadAnalysis.objects.filter(person_id__in=person_ids)
        .values("person_id")
        .annotate(last=Max("period_end"))
        .values_list("person_id", "last")
    )


def analyses_due(day: datetime.date) -> dict[int, list[int]]:
    """Case-holding workers in a team on `day` whose last analysis (or, for
    a newcomer, their first day in a team) is 84 days old or more, by team:
    a missed day is caught up by the next sweep."""
    members = dict(
        TeamMembership.objects.active_on(day)
        .filter(person__role__in=Person.CASE_HOLDING_ROLES)
        .values_list("person_id", "team_id")
    )
    joined = dict(
        TeamMembership.objects.filter(person_id__in=members)
        .values("person_id")
        .annotate(first=Min("start_date"))
        .values_list("person_id", "first")
    )
    last = last_analysis_days(list(members))
    due: dict[int, list[int]] = defaultdict(list)
    for person_id, team_id in sorted(members.items()):
        if analysis_due(last.get(person_id, joined[person_id]), day):
            due[team_id].append(person_id)
    return dict(due)


def analyse(person_ids: list[int], day: datetime.date, *, notify_people: bool = True) -> int:
    """The 12-week caseload analysis of each of these workers to `day`; an
    analysis already stored for that day is left as it is. Returns how many
    were written."""
    done = set(
        CaseloadAnalysis.objects.filter(
            person_id__in=among(person_ids), period_end=day
        ).values_list("person_id", flat=True)
    )
    person_ids = [pk for pk in person_ids if pk not in done]
    if not person_ids:
        return 0
    start = day - datetime.timedelta(weeks=ANALYSIS_WEEKS)
    weeks = [start + datetime.timedelta(weeks=n) for n in range(ANALYSIS_WEEKS + 1)]
    series = caseload_series(person_ids, weeks)

    people = among(person_ids)
    allocations = Allocation.objects.primary().filter(person_id__in=people)
    new_cases = _count_by_person(allocations.filter(start_date__gt=start, start_date__lte=day))
    closed_cases = _count_by_person(
        allocations.filter(
            case__closed_on__gt=start, case__closed_on__lte=day, end_date=F("case__closed_on")
        )
    )
    views: dict[int, list[dict]] = defaultdict(list)
    for view in WorkloadView.objects.filter(
        person_id__in=people, recorded_at__date__gt=start, recorded_at__date__lte=day
    ).order_by("recorded_at"):
        views[view.person_id].append(
            {"day": view.recorded_at.date().isoformat(), "view": view.get_scale_display()}
        )

    analyses = []
    for person_id in person_ids:
        points = [series[week][person_id] for week in weeks]
        loads = [p.weighted_load for p in points]
        percents = [p.percent for p in points if p.percent is not None]
        analyses.append(
            fit(
                CaseloadAnalysis(
                    person_id=person_id,
                    period_start=start,
                    period_end=day,
                    weeks=[
                        {
                            "day": p.day.isoformat(),
                            "cases": p.case_count,
                            "people": p.people_count,
                            "load": str(p.weighted_load),
                            "capacity": str(p.capacity),
                            "unit": p.unit,  # points, or hours a month
                            "percent": None if p.percent is None else str(p.percent),
                            "band": p.band.value if p.band else "",
                            # As pages show them on the day, so the record never disagrees.
                            "shown": p.percent_display,
                            "band_label": p.band_label,
                        }
                        for p in points
                    ],
                    average_load=sum(loads, ZERO) / len(loads),
                    peak_load=max(loads),
                    peak_percent=max(percents) if percents else None,
                    weeks_over_maximum=sum(1 for p in points if p.over_maximum),
                    new_cases=new_cases.get(person_id, 0),
                    closed_cases=closed_cases.get(person_id, 0),
                    # The ratings of the cases held on the day, counted with
                    # what they hold (weighting.numbers.HELD_SQL).
                    unrated_cases=points[-1].unrated_count,
                    stale_ratings=points[-1].stale_count,
                    anticipated_overdue=points[-1].overdue_count,
                    views=views[person_id],
                )
            )
        )
    with transaction.atomic():
        # A concurrent run for the same day breaks the unique key: this one
        # rolls back and its retry finds the analyses done.
        created = CaseloadAnalysis.objects.bulk_create(analyses, batch_size=ANALYSIS_BATCH)
        if notify_people:
            # Read as values: 66,000 emails nationally, from 33,000 people.
            on = long_date(day)
            emails = []
            for pk, name, address, supervisor_id, supervisor_address in Person.objects.filter(
                pk__in=people
            ).values_list(
                "pk", "full_name", "user__email", "supervisor_id", "supervisor__user__email"
            ):
                subject = f"The 12-week caseload analysis of {name} is ready"
                body = (
                    f"The caseload analysis of {name} to {on} is ready for the next "
                    "supervision. See it in Caseload.\n"
                )
                emails.append(Email(pk, address, subject, body))
                if supervisor_id is not None:
                    emails.append(Email(supervisor_id, supervisor_address, subject, body))
            queue_emails(emails)
    return len(created)


def _count_by_person(allocations) -> dict[int, int]:  # type: ignore[no-untyped-def]
    return dict(
        allocations.values("person_id").annotate(n=Count("pk")).values_list("person_id", "n")
    )
