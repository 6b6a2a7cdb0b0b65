"""The worker's caseload page: every case they hold or are involved in, with
its latest rating's levels, and their numbers now and over the last 12 weeks."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Exists, OuterRef, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from caseload.charts.lines import Series, line_chart
from caseload.formatting import plain_number
from caseload.markup import format_html, join_html
from caseload.models import Allocation, Case, Person
from supervision import services
from supervision.forms import AddendumForm, WorkerSignForm, next_supervision_label
from supervision.models import RatingProposal, SupervisionRecord, WorkloadConcern, WorkloadView
from weighting.models import Criterion, Rating, pause_annotations, pause_tag
from weighting.numbers import CaseloadNumbers, caseload_series_with_schemes
from weighting.schemes_in_force import latest_rating

TREND_WEEKS = 12

CASE_TYPES = dict(Case.Type.choices)
RATING_STATUSES = dict(Rating.Status.choices)


@dataclass(frozen=True)
class LatestRating:
    """A case's latest rating, with the level it gives each criterion by name."""

    status: str
    rated_on: datetime.date
    total: Decimal
    anticipated_by: datetime.date | None
    anticipated_total: Decimal | None
    levels: dict[str, Decimal]


@dataclass(frozen=True)
class CaseRow:
    case_id: int
    reference: str
    label: str
    case_type: str
    people_count: int
    kind: str
    proposed: bool  # the worker has proposed a new rating, not yet decided
    rating: LatestRating | None
    # The level of each criterion of the scheme in force; None where the
    # rating has no level for it (unrated, or rated on another version).
    levels: list[Decimal | None]
    anticipated_due: bool
    # "Paused: Awaiting closure (×0.5 until 1 February 2027)" on a case
    # paused today (weighting.CasePause), else "".
    paused: str = ""

    @property
    def html(self) -> SafeString:
        """The row as the page shows it. Built here rather than cell by cell
        in the template, which takes several times as long."""
        cells = [
            format_html(
                '<td class="govuk-table__cell"><a class="govuk-link app-nowrap" href="{}">{}</a>'
                '<br><span class="app-secondary">{}</span>{}</td>',
                reverse("case_detail", args=[self.case_id]),
                self.reference,
                self.label,
                INVOLVED_TAG if self.kind == Allocation.Kind.INVOLVED else "",
            ),
            format_html('<td class="govuk-table__cell">{}</td>', self.case_type),
            _numeric_cell(self.people_count),
            *(_numeric_cell(level) for level in self.levels),
            _weight_cell(self.rating.total if self.rating else None, self.paused),
            format_html('<td class="govuk-table__cell">{}</td>', self._status()),
            format_html('<td class="govuk-table__cell">{}</td>', self._anticipated()),
            format_html('<td class="govuk-table__cell">{}</td>', self._action()),
        ]
        return format_html('<tr class="govuk-table__row">{}</tr>', join_html(cells))

    def _status(self) -> SafeString:
        rating = self.rating
        return format_html(
            "{}{}",
            f"{rating.status} {_day_month(rating.rated_on)}" if rating else UNRATED_TAG,
            PROPOSED_TAG if self.proposed else "",
        )

    def _anticipated(self) -> SafeString | str:
        rating = self.rating
        if rating is None or rating.anticipated_by is None or rating.anticipated_total is None:
            return "–"
        return format_html(
            "{} by {}{}",
            plain_number(rating.anticipated_total),
            _day_month(rating.anticipated_by),
            DUE_TAG if self.anticipated_due else "",
        )

    def _action(self) -> SafeString | str:
        if self.kind != Allocation.Kind.PRIMARY:
            return ""
        return format_html(
            '<a class="govuk-link" href="{}">Propose a new rating'
            '<span class="govuk-visually-hidden"> for {}</span></a>',
            reverse("case_propose", args=[self.case_id]),
            self.reference,
        )


INVOLVED_TAG = SafeString(' <strong class="govuk-tag govuk-tag--grey">Involved</strong>')
UNRATED_TAG = SafeString('<strong class="govuk-tag govuk-tag--grey">Unrated</strong>')
PROPOSED_TAG = SafeString(
    '<br><strong class="govuk-tag govuk-tag--blue">You proposed a change</strong>'
)
DUE_TAG = SafeString(' <strong class="govuk-tag govuk-tag--yellow">Due</strong>')


def _weight_cell(value: Decimal | None, paused: str) -> SafeString:
    """A case's weight, with its pause's tag when it is paused."""
    if not paused:
        return _numeric_cell(value)
    return format_html(
        '<td class="govuk-table__cell govuk-table__cell--numeric app-numeric">{}<br>'
        '<strong class="govuk-tag govuk-tag--yellow">{}</strong></td>',
        "–" if value is None else plain_number(value),
        paused,
    )


def _numeric_cell(value: Decimal | int | None) -> SafeString:
    return format_html(
        '<td class="govuk-table__cell govuk-table__cell--numeric app-numeric">{}</td>',
        "–" if value is None else plain_number(value),
    )


def _day_month(day: datetime.date) -> str:
    """25 Mar."""
    return f"{day.day} {day:%b}"


def my_caseload(person: Person, today: datetime.date) -> dict:
    """The page's context: the worker's cases with their ratings, their
    numbers and trend, and what their supervision needs of them."""
    person = _with_supervision(person)
    cases = _cases(person, today)
    ratings = _latest_ratings([case["rating_id"] for case in cases if case["rating_id"]])
    days = [today - datetime.timedelta(weeks=w) for w in range(TREND_WEEKS, -1, -1)]
    series, schemes = caseload_series_with_schemes([person], days)
    check_ins = _check_ins(person, days[0] - datetime.timedelta(days=6))
    trend = [(day, series[day][person.pk], _felt_in_week(check_ins, day)) for day in days]
    numbers = trend[-1][1]
    # The criteria of the scheme in force for their team today, as the
    # numbers use it.
    scheme_id = (
        schemes[today].scheme_id_for(person.service_id, numbers.team_id)
        if numbers.team_id and person.service_id
        else None
    )
    criteria = list(
        Criterion.objects.filter(scheme_id=scheme_id)
        .order_by("position")
        .values_list("name", flat=True)
    )
    return {
        "person": person,
        "rows": [_row(case, ratings.get(case["rating_id"]), criteria, today) for case in cases],
        "criteria": criteria,
        "numbers": numbers,
        "trend": trend,
        "chart": _trend_chart([(day, week) for day, week, _ in trend]),
        "check_in_scale": WorkloadView.Scale.choices,
        "hard_three_times": _hard_three_times(check_ins),
        "next_supervision": next_supervision_label(person.next_supervision, today),
        "analysis_due": services.analysis_due(person.last_analysis_on, today),
        "waiting_signature": (
            {"pk": person.waiting_pk, "held_on": person.waiting_held_on}
            if person.waiting_pk
            else None
        ),
        # Their latest view of their workload (unsaved: only shown).
        "view": (
            WorkloadView(scale=person.view_scale, recorded_at=person.view_recorded_at)
            if person.view_scale is not None
            else None
        ),
        "today": today,
    }


# The two worst levels of the scale: three check-ins in a row at these offer a concern.
HARD_LEVELS = (WorkloadView.Scale.HARD, WorkloadView.Scale.NOT_MANAGEABLE)


def _check_ins(person: Person, since: datetime.date) -> list[WorkloadView]:
    """The person's views of their workload recorded since `since`, newest first."""
    return list(
        WorkloadView.objects.filter(person=person, recorded_at__date__gte=since).order_by(
            "-recorded_at", "-pk"
        )
    )


def _felt_in_week(check_ins: list[WorkloadView], day: datetime.date) -> WorkloadView | None:
    """The latest check-in of the week ending on `day`, if any."""
    start = day - datetime.timedelta(days=6)
    return next(
        (view for view in check_ins if start <= timezone.localdate(view.recorded_at) <= day),
        None,
    )


def _hard_three_times(check_ins: list[WorkloadView]) -> bool:
    """Whether the last three check-ins all said hard or not manageable."""
    last = check_ins[:3]
    return len(last) == 3 and all(view.scale in HARD_LEVELS for view in last)


def _with_supervision(person: Person) -> Person:
    """The person with their service and, in the same query, what their page
    shows of supervision: the next one due (from the latest record), the day
    of their last caseload analysis, the record waiting for their signature
    and their latest view of their workload."""
    records = SupervisionRecord.objects.held_for(OuterRef("pk"))
    analysed = records.filter(analysis_included=True)
    waiting = records.filter(status=SupervisionRecord.Status.SUPERVISOR_SIGNED)
    views = WorkloadView.objects.filter(person=OuterRef("pk")).order_by("-recorded_at", "-pk")
    return (
        Person.objects.select_related("service")
        .annotate(
            next_supervision=Subquery(records.values("next_supervision")[:1]),
            last_analysis_on=Subquery(analysed.values("held_on")[:1]),
            waiting_pk=Subquery(waiting.values("pk")[:1]),
            waiting_held_on=Subquery(waiting.values("held_on")[:1]),
            view_scale=Subquery(views.values("scale")[:1]),
            view_recorded_at=Subquery(views.values("recorded_at")[:1]),
        )
        .get(pk=person.pk)
    )


def _cases(person: Person, today: datetime.date) -> list[dict]:
    """The cases the person holds or is involved in today, each with the key
    of its latest rating and whether they have proposed a new one."""
    open_proposal = RatingProposal.objects.filter(
        person=person, case=OuterRef("case_id"), status=RatingProposal.Status.OPEN
    )
    return list(
        person.allocations.active_on(today)
        .annotate(
            proposed=Exists(open_proposal),
            rating_id=Subquery(latest_rating(today, "case_id").values("pk")[:1]),
            **pause_annotations(today, "case_id"),
        )
        .values(
            "case_id",
            "case__reference",
            "case__label",
            "case__case_type",
            "case__people_count",
            "kind",
            "proposed",
            "rating_id",
            "pause_reason",
            "pause_factor",
            "pause_full_from",
        )
        .order_by("kind", "case__reference")
    )


def _latest_ratings(rating_ids: list[int]) -> dict[int, LatestRating]:
    """These ratings with their levels, in one query: a row per rating and
    criterion."""
    ratings: dict[int, LatestRating] = {}
    for pk, status, rated_on, total, by, anticipated, criterion, value in (
        Rating.objects.filter(pk__in=rating_ids)
        .values_list(
            "pk",
            "status",
            "rated_on",
            "total",
            "anticipated_by",
            "anticipated_total",
            "levels__criterion__name",
            "levels__level__value",
        )
        .order_by()
    ):
        rating = ratings.get(pk)
        if rating is None:
            rating = ratings[pk] = LatestRating(
                RATING_STATUSES.get(status, status), rated_on, total, by, anticipated, {}
            )
        if criterion is not None:
            rating.levels[criterion] = value
    return ratings


def _row(
    case: dict, rating: LatestRating | None, criteria: list[str], today: datetime.date
) -> CaseRow:
    return CaseRow(
        case_id=case["case_id"],
        reference=case["case__reference"],
        label=case["case__label"],
        case_type=CASE_TYPES.get(case["case__case_type"], case["case__case_type"]),
        people_count=case["case__people_count"],
        kind=case["kind"],
        proposed=case["proposed"],
        rating=rating,
        levels=[rating.levels.get(name) for name in criteria] if rating else [None] * len(criteria),
        anticipated_due=bool(rating and rating.anticipated_by and rating.anticipated_by <= today),
        paused=(
            pause_tag(case["pause_reason"], case["pause_factor"], case["pause_full_from"])
            if case["pause_reason"]
            else ""
        ),
    )


def _trend_chart(trend: list[tuple[datetime.date, CaseloadNumbers]]) -> SafeString:
    return line_chart(
        [_day_month(day) for day, _ in trend],
        [
            Series("Weighted load", [n.weighted_load for _, n in trend], "app-chart__line--load"),
            Series("Capacity", [n.capacity for _, n in trend], "app-chart__line--capacity"),
        ],
        title="Your weighted load over the last 12 weeks",
        description="Weekly weighted load against capacity; the numbers are in the table.",
    )


def record_view_forms(record: SupervisionRecord, person: Person) -> dict:
    """The forms a signed or draft record's page offers `person`: the
    worker's signature once the supervisor has signed, and an addendum from
    the worker or supervisor once it is no longer a draft."""
    return {
        "sign_form": (
            WorkerSignForm()
            if record.status == SupervisionRecord.Status.SUPERVISOR_SIGNED
            and person.pk == record.worker_id
            else None
        ),
        "addendum_form": (
            AddendumForm()
            if not record.is_draft and person.pk in (record.worker_id, record.supervisor_id)
            else None
        ),
    }


def needs_attention(
    record: SupervisionRecord, items: list, over_maximum: list
) -> list[tuple[str, str]]:
    """What the supervision should look at first, each with the part of the
    record where it is: cases not rated or only provisionally, anticipated
    ratings due, allocations over the maximum, open workload concerns, and
    the 12-week analysis. `items`: the record's cases with their current
    rating (`current`) read already."""
    found: list[tuple[str, str]] = []

    def cases(text: str, chosen: list) -> None:
        if chosen:
            references = ", ".join(item.case.reference for item in chosen)
            found.append((f"{text}: {references}", "#caseload"))

    cases("Not rated yet", [i for i in items if i.current is None])
    cases(
        "Rated provisionally",
        [i for i in items if i.current and i.current.rating.status == Rating.Status.PROVISIONAL],
    )
    cases(
        "Anticipated rating due",
        [
            i
            for i in items
            if i.current
            and i.current.rating.anticipated_by
            and i.current.rating.anticipated_by <= record.held_on
        ],
    )
    if over_maximum:
        count = len(over_maximum)
        found.append(
            (f"{count} allocation{'s' if count != 1 else ''} over the maximum", "#over-maximum")
        )
    concerns = WorkloadConcern.objects.open().filter(person_id=record.worker_id).count()
    if concerns:
        found.append(
            (
                f"{concerns} open workload concern{'s' if concerns != 1 else ''}",
                reverse("concern_list"),
            )
        )
    if record.analysis_id:
        found.append(("A 12-week caseload analysis to discuss", "#analysis"))
    return found
