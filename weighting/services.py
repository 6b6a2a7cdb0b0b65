"""Writes to weighting: schemes and their versions, ratings, experience
factors and reductions. Pages, admin, commands and imports all come here."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from caseload import audit
from caseload.dates import long_date
from caseload.formatting import one_decimal, plain_number
from caseload.models import Case, Person, Service, Team, TeamMembership
from caseload.services import RuleBroken
from caseload.signals import numbers_changed_on
from weighting.bands import ZERO
from weighting.defaults import (
    DEFAULT_BENCHMARK,
    DEFAULT_CRITERIA,
    DEFAULT_PAUSE_REASONS,
    DEFAULT_REDUCTION_REASONS,
    DEFAULT_SCHEME_NAME,
)
from weighting.models import (
    CasePause,
    Criterion,
    ExperienceFactor,
    Level,
    NonCaseAllowance,
    PauseReason,
    Rating,
    RatingLevel,
    Reduction,
    ReductionReason,
    Scheme,
)
from weighting.numbers import month_hours
from weighting.reasons import ReductionTerms, as_time, check_reason_offered, reduction_terms
from weighting.schemes_in_force import SchemesInForce


def _today() -> datetime.date:
    return timezone.localdate()


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion as written in a scheme editor or an import."""

    name: str
    description: str
    levels: list[tuple[Decimal, str]]


def _write_criteria(scheme: Scheme, criteria: list[CriterionSpec]) -> None:
    if not criteria:
        raise RuleBroken("A scheme needs at least one criterion.")
    names = [spec.name.strip().lower() for spec in criteria]
    if len(set(names)) != len(names):
        raise RuleBroken("Each criterion needs a different name.")
    for position, spec in enumerate(criteria, start=1):
        values = [value for value, _ in spec.levels]
        if len(values) < 2:
            raise RuleBroken(f"{spec.name} needs at least two levels.")
        if len(set(values)) != len(values):
            raise RuleBroken(f"{spec.name} has two levels with the same number.")
        if any(value < 0 for value in values):
            raise RuleBroken(f"{spec.name} has a level below 0.")
        criterion = Criterion.objects.create(
            scheme=scheme,
            position=position,
            name=spec.name.strip(),
            description=spec.description.strip(),
        )
        Level.objects.bulk_create(
            Level(criterion=criterion, value=value, descriptor=descriptor.strip())
            for value, descriptor in spec.levels
        )


def scheme_create_default(
    *, service: Service, agreed_on: datetime.date, recorded_by: Person | None = None
) -> Scheme:
    """The default scheme (seed 000), agreed service-wide."""
    with transaction.atomic():
        scheme = Scheme.objects.create(
            service=service,
            name=DEFAULT_SCHEME_NAME,
            version=1 + (Scheme.objects.filter(service=service, team=None).count()),
            status=Scheme.Status.AGREED,
            agreed_on=agreed_on,
            recorded_by=recorded_by,
            benchmark=DEFAULT_BENCHMARK,
        )
        _write_criteria(
            scheme,
            [
                CriterionSpec(name, description, [(Decimal(v), d) for v, d in levels])
                for name, description, levels in DEFAULT_CRITERIA
            ],
        )
    return scheme


def scheme_in_force(team: Team, day: datetime.date | None = None) -> Scheme | None:
    """The scheme version that applies to `team` on `day` (today by default)."""
    in_force = SchemesInForce([team.service_id], day or _today(), team_ids=[team.pk])
    scheme_id = in_force.scheme_id_for(team.service_id, team.pk)
    return Scheme.objects.get(pk=scheme_id) if scheme_id else None


def scheme_draft_new_version(*, team: Team, by: Person | None) -> Scheme:
    """Start a draft of the team's next version, copied from the one in force."""
    with transaction.atomic():
        Team.objects.select_for_update().get(pk=team.pk)
        if Scheme.objects.filter(team=team, status=Scheme.Status.DRAFT).exists():
            raise RuleBroken(f"{team} already has a draft scheme: finish or discard it first.")
        current = scheme_in_force(team)
        latest_version = Scheme.objects.filter(team=team).aggregate(v=Max("version"))["v"] or 0
        draft = Scheme.objects.create(
            service_id=team.service_id,
            team=team,
            name=current.name if current else DEFAULT_SCHEME_NAME,
            version=latest_version + 1,
            status=Scheme.Status.DRAFT,
            benchmark=current.benchmark if current else DEFAULT_BENCHMARK,
            unit=current.unit if current else Scheme.Unit.POINTS,
            non_case_hours=current.non_case_hours if current else ZERO,
            based_on=current,
            recorded_by=by,
        )
        if current is not None:
            _write_criteria(draft, criteria_of(current))
    return draft


def criteria_of(scheme: Scheme) -> list[CriterionSpec]:
    return [
        CriterionSpec(
            criterion.name,
            criterion.description,
            [(level.value, level.descriptor) for level in criterion.levels.all()],
        )
        for criterion in scheme.criteria.prefetch_related("levels")
    ]


def _check_hours(
    scheme: Scheme, unit: str, non_case_hours: Decimal, criteria: list[CriterionSpec]
) -> None:
    """An hours scheme's allowance fits in a full-time week, and no case
    needs more hours a month than a full-time person has."""
    full_time = scheme.service.full_time_hours
    if non_case_hours < 0:
        raise RuleBroken("The weekly allowance for non-case time cannot be below 0 hours.")
    if non_case_hours > full_time:
        raise RuleBroken(
            f"The weekly allowance for non-case time cannot be more than the service's "
            f"full-time week of {plain_number(full_time)} hours."
        )
    if unit != Scheme.Unit.HOURS:
        return
    most = sum((max(value for value, _ in spec.levels) for spec in criteria if spec.levels), ZERO)
    month = month_hours(full_time)
    if most > month:
        raise RuleBroken(
            f"A case at the highest levels would need {plain_number(most)} hours a month, "
            f"more than a full-time month of {one_decimal(month)} hours. Lower the levels."
        )


def scheme_update_draft(
    *,
    scheme: Scheme,
    name: str,
    benchmark: Decimal,
    criteria: list[CriterionSpec],
    unit: str = Scheme.Unit.POINTS,
    non_case_hours: Decimal = ZERO,
) -> Scheme:
    """Replace a draft's name, benchmark, unit, allowance and criteria.
    Agreed versions never change."""
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().get(pk=scheme.pk)
        if not scheme.is_draft:
            raise RuleBroken(
                f"Version {scheme.version} was agreed on {long_date(scheme.agreed_on)} and "
                "cannot change. Draft a new version instead."
            )
        if benchmark <= 0:
            raise RuleBroken("The benchmark must be more than 0 points.")
        if not name.strip():
            raise RuleBroken("Enter the scheme's name.")
        if unit not in Scheme.Unit.values:
            raise RuleBroken("Choose whether the scheme counts points or hours a month.")
        _check_hours(scheme, unit, non_case_hours, criteria)
        scheme.name = name.strip()
        scheme.benchmark = benchmark
        scheme.unit = unit
        scheme.non_case_hours = non_case_hours
        scheme.save(update_fields=["name", "benchmark", "unit", "non_case_hours", "updated_at"])
        scheme.criteria.all().delete()
        _write_criteria(scheme, criteria)
    return scheme


def scheme_discard_draft(*, scheme: Scheme) -> None:
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().get(pk=scheme.pk)
        if not scheme.is_draft:
            raise RuleBroken("Only a draft can be discarded.")
        scheme.delete()


def scheme_agree(*, scheme: Scheme, agreed_on: datetime.date, by: Person | None) -> Scheme:
    """Record a draft as agreed from `agreed_on`; the version it replaces retires.
    Ratings already made keep the version they were made with."""
    with transaction.atomic():
        scheme = Scheme.objects.select_for_update().get(pk=scheme.pk)
        if not scheme.is_draft:
            raise RuleBroken("This version is already agreed.")
        if agreed_on > _today():
            raise RuleBroken("A scheme cannot be agreed in the future.")
        if not scheme.criteria.exists():
            raise RuleBroken("A scheme needs at least one criterion.")
        same_owner = Scheme.objects.filter(service_id=scheme.service_id, team_id=scheme.team_id)
        current = same_owner.filter(status=Scheme.Status.AGREED).first()
        if current is not None:
            if agreed_on < current.agreed_on:
                raise RuleBroken(
                    f"Version {current.version} was agreed on {long_date(current.agreed_on)}; "
                    "the new version cannot be agreed before that."
                )
            current.status = Scheme.Status.RETIRED
            current.save(update_fields=["status", "updated_at"])
        scheme.status = Scheme.Status.AGREED
        scheme.agreed_on = agreed_on
        scheme.recorded_by = by
        scheme.save(update_fields=["status", "agreed_on", "recorded_by", "updated_at"])
        # A new benchmark changes capacity from the day it was agreed.
        members = TeamMembership.objects.filter(
            Q(end_date__isnull=True) | Q(end_date__gt=agreed_on)
        )
        members = (
            members.filter(team_id=scheme.team_id)
            if scheme.team_id
            else members.filter(team__service_id=scheme.service_id)
        )
        numbers_changed_on(members.values_list("person_id", flat=True), agreed_on)
    return scheme


def rating_create(
    *,
    case: Case,
    levels: dict[int, Decimal],
    rated_on: datetime.date,
    rated_by: Person | None,
    status: str,
    agreed_with: Person | None = None,
    anticipated_levels: dict[int, Decimal] | None = None,
    anticipated_by: datetime.date | None = None,
    anticipated_changes: dict[int, str] | None = None,
    criteria: list[Criterion] | None = None,
    holders: Iterable[int] | None = None,
    hours: Decimal | None = None,
) -> Rating:
    """Rate `case` on every criterion of the scheme in force for its team.

    `levels` maps criterion id to the level's number; or, in an hours
    scheme, `hours` sets the hours a month the case needs directly (a
    rating with no levels). An anticipated rating,
    when given, needs a level for every criterion and a date after `rated_on`.
    `criteria`, when the caller has read them already, are those of the
    scheme in force for the case's team on `rated_on`, with their levels.
    `holders`: the primary workers of the case on or after `rated_on`, when
    the caller has read them with the case locked.
    """
    if status not in Rating.Status.values:
        raise RuleBroken("Choose provisional, interim or agreed.")
    if status == Rating.Status.AGREED and agreed_with is None:
        raise RuleBroken("An agreed rating names the worker it was agreed with.")
    if rated_on > _today():
        raise RuleBroken("A rating cannot be dated in the future.")
    if rated_on < case.opened_on:
        raise RuleBroken(f"Case {case} was opened on {long_date(case.opened_on)}.")
    if criteria:
        scheme = criteria[0].scheme  # set by scheme.criteria, without a query
    else:
        scheme = scheme_in_force(case.team, rated_on)
        if scheme is None:
            raise RuleBroken(f"{case.team} has no agreed weighting scheme yet.")
        criteria = list(scheme.criteria.prefetch_related("levels"))
    if hours is not None:
        _check_case_hours(scheme, hours, levels, anticipated_levels or anticipated_by)
        chosen = {}
    else:
        chosen = levels_for(criteria, levels, "rating")
    anticipated_levels = anticipated_levels or {}
    anticipated = (
        levels_for(criteria, anticipated_levels, "anticipated rating")
        if (anticipated_levels or anticipated_by)
        else {}
    )
    if anticipated and anticipated_by is None:
        raise RuleBroken("Give the date the anticipated rating is expected by.")
    if anticipated and anticipated_by <= rated_on:
        raise RuleBroken("The anticipated rating must be dated after the rating.")
    changes = anticipated_changes or {}
    # No savepoint: the rules are checked above, so whatever fails here rolls
    # back the caller's block (or this transaction, when there is none).
    with transaction.atomic(savepoint=False):
        rating = Rating.objects.create(
            case=case,
            scheme=scheme,
            rated_on=rated_on,
            rated_by=rated_by,
            status=status,
            agreed_with=agreed_with if status == Rating.Status.AGREED else None,
            total=hours if hours is not None else sum((lv.value for lv in chosen.values()), ZERO),
            anticipated_by=anticipated_by if anticipated else None,
            anticipated_total=(
                sum((level.value for level in anticipated.values()), Decimal(0))
                if anticipated
                else None
            ),
        )
        if holders is None:
            holders = (
                case.allocations.primary()
                .filter(Q(end_date__isnull=True) | Q(end_date__gt=rated_on))
                .values_list("person_id", flat=True)
            )
        numbers_changed_on(holders, rated_on)
        RatingLevel.objects.bulk_create(
            RatingLevel(
                rating=rating,
                criterion=criterion,
                level=chosen[criterion.pk],
                anticipated_level=anticipated.get(criterion.pk),
                anticipated_change=changes.get(criterion.pk, "").strip()[:300],
            )
            for criterion in criteria
            if criterion.pk in chosen
        )
        audit.record(rated_by, audit.Action.CREATE, rating)
    return rating


def _check_case_hours(scheme: Scheme, hours: Decimal, levels: dict, anticipated: object) -> None:
    """A case's hours set directly: only in an hours scheme, in place of the
    levels, above 0 and within a full-time month."""
    if not scheme.in_hours:
        raise RuleBroken("Only a scheme measured in hours a month takes a case's hours directly.")
    if levels or anticipated:
        raise RuleBroken("Give the hours a month or the levels, not both.")
    month = month_hours(scheme.service.full_time_hours)
    if not ZERO < hours <= month:
        raise RuleBroken(
            f"The hours a month must be more than 0 and at most a full-time month of "
            f"{one_decimal(month)} hours."
        )


def levels_for(
    criteria: list[Criterion], chosen: dict[int, Decimal], what: str
) -> dict[int, Level]:
    known = {criterion.pk for criterion in criteria}
    if set(chosen) - known:
        raise RuleBroken(f"The {what} names a criterion that is not in this scheme.")
    levels: dict[int, Level] = {}
    for criterion in criteria:
        if criterion.pk not in chosen:
            raise RuleBroken(f"Choose a level of {criterion.name.lower()} for the {what}.")
        value = Decimal(chosen[criterion.pk])
        level = next((lv for lv in criterion.levels.all() if lv.value == value), None)
        if level is None:
            values = [lv.value for lv in criterion.levels.all()]
            raise RuleBroken(
                f"{criterion.name} is rated from {plain_number(min(values))} to "
                f"{plain_number(max(values))}; {plain_number(value)} is not one of its levels."
            )
        levels[criterion.pk] = level
    return levels


def check_experience_factor(*, person: Person, factor: Decimal, start_date: datetime.date) -> None:
    """Raise RuleBroken if this factor cannot be agreed from `start_date`."""
    if not Decimal("0") < factor <= Decimal("1"):
        raise RuleBroken("The experience factor is a share of a full caseload: above 0, up to 1.")
    current = person.experience_factors.filter(end_date__isnull=True).first()
    if current is not None and start_date <= current.start_date:
        raise RuleBroken(
            f"The current factor started on {long_date(current.start_date)}; "
            "a new one must start after that."
        )
    if current is None and person.experience_factors.filter(end_date__gt=start_date).exists():
        raise RuleBroken("Another factor applied on that day.")


def experience_factor_set(
    *,
    person: Person,
    factor: Decimal,
    start_date: datetime.date,
    reason: str,
    by: Person | None,
) -> ExperienceFactor:
    """Agree a person's experience factor from `start_date`, ending the current one."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        check_experience_factor(person=person, factor=factor, start_date=start_date)
        current = person.experience_factors.filter(end_date__isnull=True).first()
        if current is not None:
            current.end_date = start_date
            current.save(update_fields=["end_date"])
        numbers_changed_on([person.pk], start_date)
        return ExperienceFactor.objects.create(
            person=person, factor=factor, start_date=start_date, reason=reason, recorded_by=by
        )


def non_case_allowance_set(
    *,
    person: Person,
    hours_per_week: Decimal,
    start_date: datetime.date,
    reason: str = "",
    by: Person | None,
) -> NonCaseAllowance:
    """A person's own weekly allowance for non-case time from `start_date`
    (in place of their team's, in hours schemes), ending their current one."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        if not ZERO <= hours_per_week <= person.full_time_hours:
            raise RuleBroken(
                "The weekly allowance for non-case time is between 0 and "
                f"{plain_number(person.full_time_hours)} hours."
            )
        current = person.non_case_allowances.filter(end_date__isnull=True).first()
        if current is not None and start_date <= current.start_date:
            raise RuleBroken(
                f"The current allowance started on {long_date(current.start_date)}; "
                "a new one must start after that."
            )
        if current is None and person.non_case_allowances.filter(end_date__gt=start_date).exists():
            raise RuleBroken("Another allowance applied on that day.")
        if current is not None:
            current.end_date = start_date
            current.save(update_fields=["end_date"])
        numbers_changed_on([person.pk], start_date)
        return NonCaseAllowance.objects.create(
            person=person,
            hours_per_week=hours_per_week,
            start_date=start_date,
            reason=reason,
            recorded_by=by,
        )


def default_reduction_reasons(service: Service) -> list[ReductionReason]:
    """The reasons every service starts with (weighting.defaults), not yet saved."""
    return [
        ReductionReason(
            service=service,
            name=name,
            default_hours_per_week=hours,
            default_percentage=percentage,
            maximum_weeks=weeks,
        )
        for name, hours, percentage, weeks in DEFAULT_REDUCTION_REASONS
    ]


def reduction_reasons_create_default(*, service: Service) -> list[ReductionReason]:
    """Give a service the default reasons; a name it has already is left as it is."""
    taken = {name.lower() for name in service.reduction_reasons.values_list("name", flat=True)}
    return ReductionReason.objects.bulk_create(
        reason for reason in default_reduction_reasons(service) if reason.name.lower() not in taken
    )


def check_reduction(
    *,
    person: Person,
    reason: ReductionReason,
    start_date: datetime.date,
    end_date: datetime.date | None = None,
    hours_per_week: Decimal | None = None,
    percentage: Decimal | None = None,
) -> ReductionTerms:
    """The protected time as it would be recorded (the reason's default size
    and end date applied), or RuleBroken if it cannot be."""
    check_reason_offered(person, reason)
    terms = reduction_terms(
        person=person,
        reason=reason,
        start_date=start_date,
        end_date=end_date,
        hours_per_week=hours_per_week,
        percentage=percentage,
    )
    overlapping = person.reductions.filter(reason=reason).filter(
        Q(end_date__isnull=True) | Q(end_date__gt=start_date)
    )
    if terms.end_date is not None:
        overlapping = overlapping.filter(start_date__lt=terms.end_date)
    if overlapping.exists():
        raise RuleBroken(f"{person} already has {as_time(reason)} in that period.")
    return terms


def reduction_create(
    *,
    person: Person,
    reason: ReductionReason,
    start_date: datetime.date,
    hours_per_week: Decimal | None = None,
    percentage: Decimal | None = None,
    end_date: datetime.date | None = None,
    detail: str = "",
    by: Person | None = None,
) -> Reduction:
    """Protected time that reduces a person's capacity for a period, for a
    reason on their service's list: with no size given it takes the reason's
    default, and with no end date it ends when the reason's longest length
    does (if it has one)."""
    with transaction.atomic():
        person = Person.objects.select_for_update().get(pk=person.pk)
        reason = ReductionReason.objects.select_related("service").get(pk=reason.pk)
        terms = check_reduction(
            person=person,
            reason=reason,
            start_date=start_date,
            end_date=end_date,
            hours_per_week=hours_per_week,
            percentage=percentage,
        )
        numbers_changed_on([person.pk], start_date)
        return Reduction.objects.create(
            person=person,
            reason=reason,
            detail=detail.strip(),
            hours_per_week=terms.hours_per_week,
            percentage=terms.percentage,
            start_date=start_date,
            end_date=terms.end_date,
            recorded_by=by,
        )


def default_pause_reasons(service: Service) -> list[PauseReason]:
    """The reasons for pausing a case every service starts with
    (weighting.defaults), not yet saved."""
    return [
        PauseReason(service=service, name=name, factor=factor, maximum_weeks=weeks)
        for name, factor, weeks in DEFAULT_PAUSE_REASONS
    ]


def pause_reasons_create_default(*, service: Service) -> list[PauseReason]:
    """Give a service the default reasons for pausing a case; a name it has
    already is left as it is."""
    taken = {name.lower() for name in service.pause_reasons.values_list("name", flat=True)}
    return PauseReason.objects.bulk_create(
        reason for reason in default_pause_reasons(service) if reason.name.lower() not in taken
    )


def _holders_from(case: Case, day: datetime.date) -> list[int]:
    """The primary workers of `case` on or after `day`: whose numbers change."""
    return list(
        case.allocations.primary()
        .filter(Q(end_date__isnull=True) | Q(end_date__gt=day))
        .values_list("person_id", flat=True)
    )


def case_pause(
    *, case: Case, reason: PauseReason, start_date: datetime.date, by: Person | None
) -> CasePause:
    """Pause an open case from `start_date` for a reason on its service's
    list: its weight counts at the reason's factor until the pause is ended
    or reaches the reason's longest length. The factor and the day it counts
    in full again are fixed now, so a later change to the reason never
    rewrites past numbers. One pause at a time per case."""
    with transaction.atomic():
        case = Case.objects.select_for_update().select_related("service").get(pk=case.pk)
        reason = PauseReason.objects.get(pk=reason.pk)
        if not case.is_open:
            raise RuleBroken(f"Case {case.reference} is closed: only an open case is paused.")
        if reason.service_id != case.service_id:
            raise RuleBroken(
                f"{reason.name} is a reason of {reason.service}; case {case.reference} is in "
                f"{case.service}."
            )
        if not reason.active:
            raise RuleBroken(f"{reason.name} is no longer offered: choose another reason.")
        if start_date > _today():
            raise RuleBroken("A pause cannot start in the future.")
        if start_date < case.opened_on:
            raise RuleBroken(
                f"Case {case.reference} was opened on {long_date(case.opened_on)}: "
                "a pause cannot start before that."
            )
        covering = (
            case.pauses.filter(Q(end_date__isnull=True) | Q(end_date__gt=start_date))
            .order_by("-start_date")
            .first()
        )
        if covering is not None and covering.end_date is None:
            raise RuleBroken(
                f"Case {case.reference} is already paused ({covering.reason.name}, since "
                f"{long_date(covering.start_date)}): end that pause first."
            )
        if covering is not None:
            raise RuleBroken(
                f"Case {case.reference} was paused until {long_date(covering.end_date)}: "
                "a new pause starts on that day or later."
            )
        numbers_changed_on(_holders_from(case, start_date), start_date)
        pause = CasePause.objects.create(
            case=case,
            reason=reason,
            factor=reason.factor,
            start_date=start_date,
            full_from=start_date + datetime.timedelta(weeks=reason.maximum_weeks),
            paused_by=by,
        )
        audit.record(by, audit.Action.CHANGE, case)
        return pause


def case_unpause(*, pause: CasePause, end_date: datetime.date, by: Person | None) -> CasePause:
    """End a pause: from `end_date` the case counts in full again."""
    with transaction.atomic():
        pause = CasePause.objects.select_for_update().select_related("case").get(pk=pause.pk)
        if pause.end_date is not None:
            raise RuleBroken(
                f"Case {pause.case.reference} is no longer paused: its pause ended on "
                f"{long_date(pause.end_date)}."
            )
        if end_date < pause.start_date:
            raise RuleBroken(
                f"The pause cannot end before it starts: it started on "
                f"{long_date(pause.start_date)}."
            )
        if end_date > _today():
            raise RuleBroken("A pause cannot be ended on a day in the future.")
        numbers_changed_on(_holders_from(pause.case, end_date), end_date)
        pause.end_date, pause.ended_by = end_date, by
        pause.save(update_fields=["end_date", "ended_by"])
        audit.record(by, audit.Action.CHANGE, pause.case)
        return pause
