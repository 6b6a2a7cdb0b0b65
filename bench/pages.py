"""The pages in-process, every page computed on each request: the team
page, my caseload and the service overview, each timed alternately with
the floor page, and the allocation POST."""

from __future__ import annotations

import datetime
import functools
import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import Count
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.report import ms, percentile, say, target, timed
from caseload.models import Case, Person, Team, TeamMembership
from weighting import services as weighting
from weighting.models import Scheme
from weighting.projection import project_allocation


@dataclass
class Timing:
    """A page's queries and its server times, in seconds."""

    queries: int
    times: list[float]

    @property
    def p50(self) -> float:
        return statistics.median(self.times)

    @property
    def p95(self) -> float:
        return percentile(self.times, 0.95)


def signed_in(person: Person) -> Client:
    client = Client()
    client.force_login(person.user)
    return client


def warmed(client: Client, *urls: str) -> None:
    """Three requests of each: the first loads the middleware, WhiteNoise's
    scan of the static files included, once per test client (a web server
    does it once per worker)."""
    for _ in range(3):
        for url in urls:
            if client.get(url).status_code != 200:
                raise SystemExit(f"{url} did not answer 200")


def time_against_floor(client: Client, url: str, requests: int) -> tuple[Timing, Timing]:
    """The page and the floor page, as the same person, one request of each
    in turn, so that each pair meets the machine at the same speed."""
    floor = reverse("bench_floor")
    warmed(client, floor, url)
    counts = {}
    for each in (floor, url):
        with CaptureQueriesContext(connection) as queries:
            client.get(each)
        counts[each] = len(queries)
    times: dict[str, list[float]] = {floor: [], url: []}
    for _ in range(requests):
        for each in (floor, url):
            times[each].append(timed(client.get, each)[1])
    return Timing(counts[url], times[url]), Timing(counts[floor], times[floor])


def target_pages(who: dict) -> list[tuple[str, str, str, int, int, int]]:
    """Each page the targets name: its name, who views it, its URL, and its
    targets (p95 within so many times the floor's, p95 at most so many ms,
    at most so many queries)."""
    team = who["team"]
    teams = Team.objects.filter(service_id=team.service_id).count()
    return [
        ("team page", "manager", reverse("team_detail", args=[team.pk]), 2, 25, 12),
        ("my caseload", "worker", reverse("my_caseload"), 2, 25, 12),
        (
            f"service overview ({teams} teams)",
            "senior",
            reverse("service_overview", args=[team.service_id]),
            4,
            60,
            15,
        ),
        # Issue 26: a team's 12-week forecast, and a service's (under 300 ms).
        ("team forecast", "manager", reverse("team_forecast", args=[team.pk]), 4, 60, 16),
        (
            f"service forecast ({teams} teams)",
            "senior",
            reverse("service_forecast", args=[team.service_id]),
            100,
            300,
            16,
        ),
        # Issue 26: what if the whole service's draft scheme, or draft
        # thresholds, were agreed (under 500 ms for a 600-person service).
        (
            f"what-if of a service's draft scheme ({teams} teams)",
            "senior",
            reverse("scheme_what_if", args=[service_draft(team.service_id).pk]),
            100,
            500,
            20,
        ),
        (
            f"what-if of a service's thresholds ({teams} teams)",
            "senior",
            reverse("service_what_if", args=[team.service_id]) + "?green_from=90",
            100,
            500,
            14,
        ),
    ]


def service_draft(service_id: int) -> Scheme:
    """The service's draft scheme: its agreed scheme with a fourth level of
    complexity and a court work criterion, drafted once."""
    draft = Scheme.objects.filter(
        service_id=service_id, team__isnull=True, status=Scheme.Status.DRAFT
    ).first()
    if draft:
        return draft
    agreed = Scheme.objects.get(service_id=service_id, team__isnull=True, status="agreed")
    draft = Scheme.objects.create(
        service_id=service_id,
        name=agreed.name,
        version=agreed.version + 1,
        benchmark=agreed.benchmark,
        based_on=agreed,
    )
    specs = weighting.criteria_of(agreed)
    specs[0].levels.append((Decimal(4), "Very complex"))
    specs.append(
        weighting.CriterionSpec(
            "Court work", "", [(Decimal(0), "None"), (Decimal(1), "Some"), (Decimal(2), "Most")]
        )
    )
    return weighting.scheme_update_draft(
        scheme=draft, name=draft.name, benchmark=Decimal(110), criteria=specs
    )


def measure_pages(today: datetime.date, requests: int) -> dict:
    who = principals(today)
    team = who["team"]
    say("### Pages, in-process, every page computed on each request")
    say()
    say(
        f"Team page: {team.name} (the largest team), "
        f"{TeamMembership.objects.active_on(today).filter(team=team).count()} people, "
        f"{Case.objects.filter(team=team, status='open').count()} open cases; viewed by its "
        "manager. My caseload: a social worker of that team. Service overview: its senior "
        "manager. Server time through the whole middleware stack, production settings. "
        "Each page is timed alternately with the floor page (a signed-in page that renders "
        "the base template and writes one audit row, as each listing page does), viewed by "
        f"the same person: {requests} requests of each, after 3 of each untimed."
    )
    say()
    say("| page | queries | p50 | p95 | floor: queries | p50 | p95 | p95 ÷ floor's |")
    say("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, role, url, floors, most_ms, most_queries in target_pages(who):
        page, floor = time_against_floor(signed_in(who[role]), url, requests)
        ratio = page.p95 / floor.p95
        say(
            f"| {name} | {page.queries} | {ms(page.p50)} | {ms(page.p95)} | {floor.queries} | "
            f"{ms(floor.p50)} | {ms(floor.p95)} | {ratio:.2f}× |"
        )
        target(f"{name}: p95 ÷ the floor page's", f"≤ {floors}×", f"{ratio:.2f}×", ratio <= floors)
        target(f"{name}: p95", f"≤ {most_ms} ms", ms(page.p95), page.p95 * 1000 <= most_ms)
        target(
            f"{name}: queries", f"≤ {most_queries}", str(page.queries), page.queries <= most_queries
        )
    posts = allocation_posts(today, requests)
    post = Timing(max(POST_QUERIES), posts)
    say(
        f"| allocation POST (manager; a new case, to the team's worker with the most room) | "
        f"{post.queries} | {ms(post.p50)} | {ms(post.p95)} | — | — | — | — |"
    )
    say()
    target("allocation POST: queries", "≤ 25", str(post.queries), post.queries <= 25)
    target("allocation POST: p95", "≤ 40 ms", ms(post.p95), post.p95 * 1000 <= 40)
    return who


def principals(today: datetime.date) -> dict:
    sizes = {
        team_id: count
        for team_id, count in TeamMembership.objects.active_on(today)
        .values_list("team_id")
        .annotate(n=Count("pk"))
        .values_list("team_id", "n")
    }
    team = Team.objects.get(pk=max(sizes, key=lambda pk: (sizes[pk], -pk)))
    manager = team.managers.select_related("user").first()
    worker = (
        Person.objects.filter(memberships__team=team, memberships__end_date__isnull=True)
        .filter(role=Person.Role.SOCIAL_WORKER)
        .select_related("user")
        .order_by("pk")
        .first()
    )
    senior = (
        Person.objects.filter(service=team.service, role=Person.Role.SENIOR_MANAGER)
        .select_related("user")
        .first()
    )
    return {"team": team, "manager": manager, "worker": worker, "senior": senior}


def allocation_requests(today: datetime.date, count: int) -> Iterator[Callable[[], Any]]:
    """New cases, unrated, each to be allocated to the worker of its team
    with the most room, by its team manager (what an allocation meeting
    does): the POST of each, made ready (untimed) when the previous one has
    been sent."""
    teams = list(Team.objects.filter(managers__isnull=False).order_by("pk")[:count])
    stamp = timezone.now().strftime("%Y%m%d%H%M%S%f")
    waiting = Case.objects.bulk_create(
        Case(
            service_id=teams[n % len(teams)].service_id,
            team=teams[n % len(teams)],
            reference=f"B{stamp}{n:03d}",
            label=f"Bench family {n}",
            case_type=Case.Type.CHILD_IN_NEED,
            opened_on=today,
        )
        for n in range(count)
    )
    clients: dict[int, Client] = {}
    review_by = today + datetime.timedelta(days=30)
    for case in waiting:
        manager = case.team.managers.select_related("user").first()
        if manager.pk not in clients:
            # A manager's first request loads the middleware, once per test
            # client (a web server does it once per worker): not timed.
            clients[manager.pk] = signed_in(manager)
            clients[manager.pk].get(reverse("team_detail", args=[case.team_id]))
        workers = Person.objects.filter(
            memberships__team=case.team,
            memberships__end_date__isnull=True,
            role__in=Person.CASE_HOLDING_ROLES,
        )
        projections = project_allocation(case, workers, today)
        worker_id = max(projections, key=lambda pk: projections[pk].after.headroom)
        data = {"worker": worker_id, "reason": ""}
        data.update({f"level_{c}": "2" for c in criteria_of(case)})
        data.update(
            {
                "over_reason": "Benchmark",
                "over_plan": "None",
                "over_review_by_0": review_by.day,
                "over_review_by_1": review_by.month,
                "over_review_by_2": review_by.year,
            }
        )
        yield functools.partial(
            clients[manager.pk].post, reverse("case_allocate", args=[case.pk]), data
        )


def allocation_posts(today: datetime.date, requests: int) -> list[float]:
    """The allocation POST's times; its queries in POST_QUERIES."""
    times = []
    for n, post in enumerate(allocation_requests(today, requests + 1)):
        with CaptureQueriesContext(connection) as queries:
            response, seconds = timed(post)
        if response.status_code != 302:
            raise SystemExit(f"An allocation POST answered {response.status_code}")
        if n == 0:
            continue  # the process's first: connects to the broker, as after a deploy
        POST_QUERIES.append(len(queries))
        times.append(seconds)
    return times


POST_QUERIES: list[int] = []


def criteria_of(case: Case) -> list[int]:
    from allocation.presenters import unrated_criteria

    return [c.pk for c in unrated_criteria(case, timezone.localdate())]
