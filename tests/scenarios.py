"""A small team whose numbers are computed by hand, shared by the tests
of the scheduled analyses and of their Celery tasks.

The team (default scheme, benchmark 100, so a 0.2 FTE worker has capacity 20):

- Asha, 0.2 FTE, from 5 January 2026 holds c1 (rated 9, 2 children) and c2
  (rated 9, 1 child); takes c3 (unrated, so 6; 3 children) on 16 March; c3 is
  rated 3 on 13 April; c2 closes on 11 May.
- Ben, 0.2 FTE, from 5 January holds b1 (9, 1 child) and b2 (9, 2 children);
  takes b3 (rated 3, 1 child) on 16 March and stays at 21 of 20 (105%).
- Ella, a student (not case-holding), in the same team.
- Cara, 1.0 FTE, in the other team, holds one case rated 6 with 4 children.

The 12-week analysis of Asha to 25 May 2026 (weekly from 2 March): loads
18, 18, 24, 24, 24, 24, 21, 21, 21, 21, 12, 12, 12.
"""

import datetime
from decimal import Decimal

from django.utils import timezone

from allocation import services as allocation_services
from caseload import services
from caseload.dates import Quarter
from caseload.models import Notification
from supervision import services as supervision
from supervision.models import WorkloadView
from tests.factories import CaseFactory, member
from weighting import services as weighting

D = Decimal
date = datetime.date
JAN_5 = date(2026, 1, 5)
START = date(2026, 3, 2)  # the analysis period starts
TAKES_C3 = date(2026, 3, 16)
RATES_C3 = date(2026, 4, 13)
CLOSES_C2 = date(2026, 5, 11)
END = date(2026, 5, 25)  # START + 84 days
QUARTER = Quarter(date(2026, 4, 1))  # Apr–Jun 2026, Q1 2026/27
WEEKS = [START + datetime.timedelta(weeks=n) for n in range(13)]


def rate(case, scheme, total_levels, on, **extra):
    ids = [c.pk for c in scheme.criteria.order_by("position")]
    return weighting.rating_create(
        case=case,
        levels=dict(zip(ids, map(D, total_levels), strict=True)),
        rated_on=on,
        rated_by=None,
        status="interim",
        **extra,
    )


OVER_PLAN = allocation_services.OverMaximumPlan(
    reason="Urgent and nobody had room",
    reprioritisation="Reports moved back a week",
    review_by=date(2026, 4, 30),
)


def hold(case, person, on):
    allocation_services.allocation_create(
        case=case, person=person, start_date=on, allocated_by=None, over_maximum=OVER_PLAN
    )


def build_small_team(*, default_scheme, team, other_team, team_manager) -> dict:
    asha = member(team, since=date(2026, 1, 1), full_name="Asha Patel", fte=D("0.20"))
    ben = member(team, since=date(2026, 1, 1), full_name="Ben Okafor", fte=D("0.20"))
    ella = member(team, since=date(2026, 1, 1), full_name="Ella Shah", role="student")
    cara = member(other_team, since=date(2026, 1, 1), full_name="Cara Jones")
    for person in (asha, ben, ella):
        person.supervisor = team_manager
        person.save()
    cases = {}
    for name, holder, people, levels in [
        ("c1", asha, 2, (3, 3, 3)),
        ("c2", asha, 1, (3, 3, 3)),
        ("b1", ben, 1, (3, 3, 3)),
        ("b2", ben, 2, (3, 3, 3)),
        ("d1", cara, 4, (2, 2, 2)),
    ]:
        case = CaseFactory(
            team=other_team if holder == cara else team,
            reference=name.upper(),
            opened_on=JAN_5,
            people_count=people,
        )
        ids = [c.pk for c in default_scheme.criteria.order_by("position")]
        extra = (
            # Expected to lessen to 3 + 2 + 2 by 1 February: overdue by the end.
            {
                "anticipated_levels": dict(zip(ids, map(D, (3, 2, 2)), strict=True)),
                "anticipated_by": date(2026, 2, 1),
            }
            if name == "c1"
            else {}
        )
        rate(case, default_scheme, levels, JAN_5, **extra)
        hold(case, holder, JAN_5)
        cases[name] = case
    cases["c3"] = CaseFactory(team=team, reference="C3", opened_on=TAKES_C3, people_count=3)
    hold(cases["c3"], asha, TAKES_C3)
    rate(cases["c3"], default_scheme, (1, 1, 1), RATES_C3)
    cases["b3"] = CaseFactory(team=team, reference="B3", opened_on=TAKES_C3, people_count=1)
    rate(cases["b3"], default_scheme, (1, 1, 1), TAKES_C3)
    hold(cases["b3"], ben, TAKES_C3)
    services.case_close(case=cases["c2"], closed_on=CLOSES_C2, by=None)
    view = supervision.workload_view_record(person=asha, scale=4, comment="")
    WorkloadView.objects.filter(pk=view.pk).update(
        recorded_at=timezone.make_aware(datetime.datetime(2026, 4, 1, 12, 0))
    )
    Notification.objects.all().delete()  # the allocations' emails: not under test here
    return {"asha": asha, "ben": ben, "ella": ella, "cara": cara, **cases}
