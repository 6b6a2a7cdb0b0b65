"""Writes and rules of supervision: views of workload, proposals, concerns,
and the supervision record from draft to both signatures."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from caseload import audit
from caseload.dates import long_date
from caseload.formatting import plain_number
from caseload.models import Allocation, Case, OverMaximum, Person, TeamMembership
from caseload.notifications import notify
from caseload.services import RuleBroken
from reports.models import CaseloadAnalysis
from supervision.models import (
    ProposalLevel,
    RatingProposal,
    SupervisionAddendum,
    SupervisionCaseItem,
    SupervisionRecord,
    WorkloadConcern,
    WorkloadView,
)
from weighting import services as weighting
from weighting.models import Criterion, Level, Rating

# The policy: a caseload analysis at least every 12 weeks, in supervision.
ANALYSIS_INTERVAL_DAYS = 84
CONCERN_RESPONSE_WORKING_DAYS = 5


def _today() -> datetime.date:
    return timezone.localdate()


def add_working_days(day: datetime.date, days: int) -> datetime.date:
    """`days` working days (Monday to Friday) after `day`."""
    while days > 0:
        day += datetime.timedelta(days=1)
        if day.weekday() < 5:
            days -= 1
    return day


# The 12-weekly caseload analysis ---------------------------------------------


def last_analysis_on(person: Person) -> datetime.date | None:
    """The day of the worker's last caseload analysis in a signed supervision."""
    return (
        SupervisionRecord.objects.signed_by_supervisor()
        .filter(worker=person, analysis_included=True)
        .order_by("-held_on")
        .values_list("held_on", flat=True)
        .first()
    )


def pending_analysis(worker: Person, day: datetime.date) -> CaseloadAnalysis | None:
    """The newest stored 12-week analysis to `day` that no signed supervision
    has discussed yet: it opens the analysis section of the next one."""
    analyses = CaseloadAnalysis.objects.filter(person=worker, period_end__lte=day)
    last_on = last_analysis_on(worker)
    if last_on is not None:
        analyses = analyses.filter(period_end__gt=last_on)
    return analyses.order_by("-period_end").first()


def analysis_due(last_on: datetime.date | None, day: datetime.date) -> bool:
    """The one rule: an analysis is due when none has been done, or the last
    was 12 weeks (84 days) or more before `day`."""
    return last_on is None or (day - last_on).days >= ANALYSIS_INTERVAL_DAYS


def supervision_interval(person: Person) -> datetime.timedelta:
    """Every 4 weeks, every 2 for ASYEs (the service may set other intervals)."""
    service = person.service
    if person.role == Person.Role.ASYE:
        weeks = service.asye_supervision_weeks if service else 2
    else:
        weeks = service.supervision_weeks if service else 4
    return datetime.timedelta(weeks=weeks)


# Before supervision ------------------------------------------------------------


def workload_view_record(*, person: Person, scale: int, comment: str) -> WorkloadView:
    if scale not in WorkloadView.Scale.values:
        raise RuleBroken("Choose how manageable your workload is.")
    return WorkloadView.objects.create(person=person, scale=scale, comment=comment.strip())


def proposal_create(
    *, case: Case, person: Person, levels: dict[int, Decimal], why: str
) -> RatingProposal:
    """A worker proposes a re-rating of a case they hold; it replaces any
    earlier open proposal of theirs for that case. The reason is optional;
    a proposal must change at least one level of the current rating."""
    holds = Allocation.objects.primary().open().filter(case=case, person=person).exists()
    if not holds:
        raise RuleBroken(f"You do not hold case {case}.")
    scheme = weighting.scheme_in_force(case.team)
    if scheme is None:
        raise RuleBroken(f"{case.team} has no agreed weighting scheme yet.")
    criteria = list(scheme.criteria.prefetch_related("levels"))
    chosen = weighting.levels_for(criteria, levels, "proposal")
    proposed = {str(pk): plain_number(level.value) for pk, level in chosen.items()}
    if proposed == current_levels(case, _today()):
        raise RuleBroken(
            f"That is the rating {case} already has. Change at least one level to propose "
            "a re-rating."
        )
    with transaction.atomic():
        RatingProposal.objects.filter(case=case, person=person, status="open").update(
            status=RatingProposal.Status.WITHDRAWN
        )
        proposal = RatingProposal.objects.create(
            case=case, person=person, scheme=scheme, why=why.strip()
        )
        ProposalLevel.objects.bulk_create(
            ProposalLevel(proposal=proposal, criterion=c, level=chosen[c.pk]) for c in criteria
        )
    return proposal


def _managers_of(person: Person, day: datetime.date) -> list[Person]:
    team_ids = TeamMembership.objects.active_on(day).filter(person=person).values("team_id")
    return list(Person.objects.filter(managed_teams__in=team_ids).distinct())


def concern_raise(*, person: Person, concern: str) -> WorkloadConcern:
    """Raise a concern about one's workload: the supervisor and the team
    manager are told, and a response is due within five working days."""
    if not concern.strip():
        raise RuleBroken("Say what is wrong with your workload.")
    today = _today()
    with transaction.atomic():
        raised = WorkloadConcern.objects.create(
            person=person,
            concern=concern.strip(),
            respond_by=add_working_days(today, CONCERN_RESPONSE_WORKING_DAYS),
        )
        recipients = {p.pk: p for p in [person.supervisor, *_managers_of(person, today)] if p}
        recipients.pop(person.pk, None)
        for recipient in recipients.values():
            notify(
                recipient=recipient,
                subject=f"{person} has raised a concern about their workload",
                body=(
                    f"{person} raised a concern about their workload on {long_date(today)}. "
                    f"Please record a response in Caseload by {long_date(raised.respond_by)}.\n"
                ),
            )
    return raised


def concern_respond(*, concern: WorkloadConcern, response: str, by: Person) -> WorkloadConcern:
    if not response.strip():
        raise RuleBroken("Write the response.")
    with transaction.atomic():
        concern = WorkloadConcern.objects.select_for_update().get(pk=concern.pk)
        if concern.status != WorkloadConcern.Status.OPEN:
            raise RuleBroken("This concern already has a response.")
        concern.status = WorkloadConcern.Status.RESPONDED
        concern.response = response.strip()
        concern.responded_by = by
        concern.responded_at = timezone.now()
        concern.save(update_fields=["status", "response", "responded_by", "responded_at"])
        notify(
            recipient=concern.person,
            subject="Your workload concern has a response",
            body=f"{by} has responded to the concern you raised. See it in Caseload.\n",
        )
    return concern


# The supervision record ---------------------------------------------------------


def current_levels(case: Case, day: datetime.date) -> dict[str, str]:
    rating = (
        Rating.objects.filter(case=case, rated_on__lte=day)
        .order_by("-rated_on", "-pk")
        .prefetch_related("levels__level")
        .first()
    )
    if rating is None:
        return {}
    return {str(row.criterion_id): plain_number(row.level.value) for row in rating.levels.all()}


def cases_on_record(worker: Person, day: datetime.date) -> tuple[list[Case], list[Case]]:
    """The cases `worker` holds on `day` (primary), to be rated in the record,
    and the cases they are involved in without holding them, shown read-only.
    Each case is tested against one allocation of the worker's that covers
    the day."""
    theirs = Allocation.objects.active_on(day).filter(person=worker)
    held = list(Case.objects.filter(pk__in=theirs.primary().values("case_id")))
    involved = list(
        Case.objects.filter(
            pk__in=theirs.filter(kind=Allocation.Kind.INVOLVED).values("case_id")
        ).exclude(pk__in=[case.pk for case in held])
    )
    return held, involved


def record_open(*, worker: Person, supervisor: Person, held_on: datetime.date) -> SupervisionRecord:
    """Open a draft record, pre-filled with what the system already knows: the
    caseload as it stands with the worker's proposals, their latest view of
    their workload, whether the caseload analysis is due, and the next date."""
    if worker.supervisor_id != supervisor.pk:
        raise RuleBroken(f"{supervisor} is not {worker}'s supervisor.")
    if SupervisionRecord.objects.filter(worker=worker, held_on=held_on).exists():
        raise RuleBroken(f"There is already a supervision record for {worker} on that day.")
    analysis = pending_analysis(worker, held_on)
    with transaction.atomic():
        record = SupervisionRecord.objects.create(
            worker=worker,
            supervisor=supervisor,
            held_on=held_on,
            worker_view=worker.workload_views.order_by("-recorded_at", "-pk").first(),
            analysis=analysis,
            analysis_included=analysis is not None
            or analysis_due(last_analysis_on(worker), held_on),
            next_supervision=held_on + supervision_interval(worker),
        )
        held, involved = cases_on_record(worker, held_on)
        proposals = {
            p.case_id: p
            for p in RatingProposal.objects.filter(person=worker, status="open").prefetch_related(
                "levels__level"
            )
        }
        items = []
        for case in held:
            proposal = proposals.get(case.pk)
            levels = (
                {
                    str(row.criterion_id): plain_number(row.level.value)
                    for row in proposal.levels.all()
                }
                if proposal
                else current_levels(case, held_on)
            )
            items.append(
                SupervisionCaseItem(
                    record=record,
                    case=case,
                    proposal=proposal,
                    agree=proposal is not None,
                    levels=levels,
                )
            )
        items += [SupervisionCaseItem(record=record, case=case, involved=True) for case in involved]
        SupervisionCaseItem.objects.bulk_create(items)
        audit.record(supervisor, audit.Action.CREATE, record)
    return record


@dataclass
class ItemChange:
    agree: bool
    levels: dict[str, str] = field(default_factory=dict)
    anticipated_levels: dict[str, str] = field(default_factory=dict)
    anticipated_changes: dict[str, str] = field(default_factory=dict)
    anticipated_by: datetime.date | None = None


@dataclass
class RecordChange:
    caseload_discussion: str = ""
    deviation_agreed: bool | None = None
    deviation_reason: str = ""
    time_for_direct_work: str = ""
    other_demands: str = ""
    asye_factor: Decimal | None = None
    actions: str = ""
    next_supervision: datetime.date | None = None
    items: dict[int, ItemChange] = field(default_factory=dict)  # by item id

    RECORD_FIELDS = (
        "caseload_discussion",
        "deviation_agreed",
        "deviation_reason",
        "time_for_direct_work",
        "other_demands",
        "asye_factor",
        "actions",
        "next_supervision",
    )


def record_save_draft(*, record: SupervisionRecord, change: RecordChange) -> SupervisionRecord:
    """Save what has been typed so far. Drafts can be saved at any time, half
    finished; the checks come at the supervisor's signature."""
    with transaction.atomic():
        record = SupervisionRecord.objects.select_for_update().get(pk=record.pk)
        if not record.is_draft:
            raise RuleBroken("This record is signed and cannot change; add an addendum instead.")
        for name in RecordChange.RECORD_FIELDS:
            value = getattr(change, name)
            setattr(record, name, value.strip() if isinstance(value, str) else value)
        record.save()
        for item in record.items.filter(pk__in=change.items, involved=False):
            data = change.items[item.pk]
            item.agree = data.agree
            item.levels = data.levels
            item.anticipated_levels = data.anticipated_levels
            item.anticipated_changes = {
                k: v.strip() for k, v in data.anticipated_changes.items() if v.strip()
            }
            item.anticipated_by = data.anticipated_by
            item.save()
        audit.record(record.supervisor, audit.Action.CHANGE, record)
    return record


def signing_problems(
    record: SupervisionRecord,
    change: RecordChange,
    items: list[SupervisionCaseItem],
    criteria_by_case: dict[int, list[Criterion]],
) -> dict[str, list[str]]:
    """What stops the supervisor signing `record` with `change`, by the name of
    the form field in error ("__all__" for the record as a whole). The
    rating of a case needs a level of each criterion of the scheme in force."""
    problems: dict[str, list[str]] = {}

    def problem(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    if not change.caseload_discussion.strip():
        problem(
            "caseload_discussion",
            "Record the discussion of the relative complexity of the cases "
            "and the impact on capacity",
        )
    if change.deviation_agreed is None:
        problem("deviation_agreed", "Say whether a deviation from the average caseload is agreed")
    elif change.deviation_agreed and not change.deviation_reason.strip():
        problem("deviation_reason", "Give the reason for the agreed deviation")
    if record.analysis_included:
        if not change.time_for_direct_work.strip():
            problem("time_for_direct_work", "Record the time available for direct work")
        if not change.other_demands.strip():
            problem("other_demands", "Record the issues meeting other demands")
    if change.next_supervision is None:
        problem("next_supervision", "Enter the date of the next supervision")
    if change.asye_factor is not None and record.worker.role != Person.Role.ASYE:
        problem("asye_factor", "An experience factor is agreed only for an ASYE")
    for item in items:
        data = change.items.get(item.pk)
        if data is None or not data.agree:
            continue
        for criterion in criteria_by_case.get(item.case_id, []):
            if str(criterion.pk) not in data.levels:
                problem(
                    f"item_{item.pk}_level_{criterion.pk}",
                    f"{item.case.reference}: choose a level of {criterion.name.lower()}",
                )
    if record.held_on > _today():
        problem("__all__", "A supervision in the future cannot be signed yet")
    return problems


def criteria_by_case(
    items: list[SupervisionCaseItem], day: datetime.date
) -> dict[int, list[Criterion]]:
    """The criteria of the scheme in force on `day` for each item's case, its
    levels lowest first: one read of each team's scheme."""
    by_team: dict[int, list[Criterion]] = {}
    found = {}
    for item in items:
        team = item.case.team
        if team.pk not in by_team:
            scheme = weighting.scheme_in_force(team, day)
            by_team[team.pk] = (
                list(
                    scheme.criteria.prefetch_related(
                        Prefetch("levels", queryset=Level.objects.order_by("value"))
                    )
                )
                if scheme
                else []
            )
        found[item.case_id] = by_team[team.pk]
    return found


def _stored_change(record: SupervisionRecord, items: list[SupervisionCaseItem]) -> RecordChange:
    return RecordChange(
        **{name: getattr(record, name) for name in RecordChange.RECORD_FIELDS},
        items={item.pk: ItemChange(agree=item.agree, levels=item.levels) for item in items},
    )


def record_sign_supervisor(*, record: SupervisionRecord, by: Person) -> SupervisionRecord:
    """The supervisor signs: the record's content is fixed, and the ratings and
    experience factor agreed in it take effect from the day it was held."""
    with transaction.atomic():
        record = (
            SupervisionRecord.objects.select_for_update()
            .select_related("worker", "supervisor")
            .get(pk=record.pk)
        )
        if record.supervisor_id != by.pk:
            raise RuleBroken("Only the supervisor signs first.")
        if not record.is_draft:
            raise RuleBroken("The supervisor has already signed this record.")
        items = list(record.items.filter(involved=False).select_related("case__team"))
        problems = signing_problems(
            record, _stored_change(record, items), items, criteria_by_case(items, record.held_on)
        )
        if problems:
            raise RuleBroken(problems)
        for item in record.items.filter(agree=True).select_related("case", "proposal"):
            try:
                rating = weighting.rating_create(
                    case=item.case,
                    levels={int(k): Decimal(v) for k, v in item.levels.items()},
                    rated_on=record.held_on,
                    rated_by=by,
                    status=Rating.Status.AGREED,
                    agreed_with=record.worker,
                    anticipated_levels={
                        int(k): Decimal(v) for k, v in item.anticipated_levels.items()
                    },
                    anticipated_by=item.anticipated_by,
                    anticipated_changes={int(k): v for k, v in item.anticipated_changes.items()},
                )
            except RuleBroken as error:
                raise RuleBroken([f"Case {item.case}: {m}" for m in error.messages]) from None
            item.rating = rating
            item.save(update_fields=["rating"])
            if item.proposal_id:
                RatingProposal.objects.filter(pk=item.proposal_id).update(
                    status=RatingProposal.Status.AGREED
                )
        if record.asye_factor is not None:
            weighting.experience_factor_set(
                person=record.worker,
                factor=record.asye_factor,
                start_date=record.held_on,
                reason=f"Agreed in supervision on {long_date(record.held_on)}",
                by=by,
            )
        record.status = SupervisionRecord.Status.SUPERVISOR_SIGNED
        record.supervisor_signed_at = timezone.now()
        record.save()
        audit.record(by, audit.Action.CHANGE, record)
        notify(
            recipient=record.worker,
            subject="Your supervision record is ready to sign",
            body=(
                f"{by} has signed the record of your supervision on {long_date(record.held_on)}. "
                "Read it and sign it in Caseload; you can record any disagreement.\n"
            ),
        )
    return record


def record_sign_worker(
    *, record: SupervisionRecord, by: Person, disagreement: str = ""
) -> SupervisionRecord:
    """The worker signs after the supervisor, agreeing or recording what they
    disagree with."""
    with transaction.atomic():
        record = SupervisionRecord.objects.select_for_update().get(pk=record.pk)
        if record.worker_id != by.pk:
            raise RuleBroken("Only the worker the record is about signs it second.")
        if record.status != SupervisionRecord.Status.SUPERVISOR_SIGNED:
            raise RuleBroken(
                "The supervisor signs first."
                if record.is_draft
                else "You have already signed this record."
            )
        record.status = SupervisionRecord.Status.SIGNED
        record.worker_signed_at = timezone.now()
        record.worker_disagreement = disagreement.strip()
        record.save()
        audit.record(by, audit.Action.CHANGE, record)
    return record


def addendum_add(*, record: SupervisionRecord, author: Person, text: str) -> SupervisionAddendum:
    if not text.strip():
        raise RuleBroken("Write the addendum.")
    if record.is_draft:
        raise RuleBroken("A draft can still be changed; an addendum is for a signed record.")
    if author.pk not in (record.worker_id, record.supervisor_id):
        raise RuleBroken("Only the worker and the supervisor add to their record.")
    with transaction.atomic():
        addendum = SupervisionAddendum.objects.create(
            record=record, author=author, text=text.strip()
        )
        audit.record(author, audit.Action.CHANGE, record)
    return addendum


def over_maximum_for_record(record: SupervisionRecord) -> list[OverMaximum]:
    """Over-maximum allocations to the worker since their previous supervision,
    and any still open: each with its reason and review date."""
    previous = (
        SupervisionRecord.objects.signed_by_supervisor()
        .filter(worker_id=record.worker_id, held_on__lt=record.held_on)
        .order_by("-held_on")
        .values_list("held_on", flat=True)
        .first()
    )
    records = OverMaximum.objects.filter(person_id=record.worker_id).select_related(
        "allocation__case", "created_by", "person__service"
    )
    since = Q(allocation__start_date__gt=previous) if previous else Q()
    return list(
        records.filter(since | Q(status="open"), allocation__start_date__lte=record.held_on)
        .distinct()
        .order_by("allocation__start_date")
    )


def items_not_held() -> QuerySet[SupervisionCaseItem]:
    """Items to be rated that name a case the worker did not hold on the
    record's day: records opened before the record listed only the cases held
    could carry them. Signed records keep them (an addendum corrects them)."""
    day = OuterRef("record__held_on")
    held = Allocation.objects.primary().filter(
        Q(end_date__isnull=True) | Q(end_date__gt=day),
        case=OuterRef("case"),
        person=OuterRef("record__worker"),
        start_date__lte=day,
    )
    return (
        SupervisionCaseItem.objects.filter(involved=False)
        .exclude(Exists(held))
        .select_related("record__worker", "record__supervisor", "case")
        .order_by("record__held_on", "record_id", "case__reference")
    )


def draft_items_not_held_remove() -> int:
    """Take the cases the worker did not hold off the drafts that list them."""
    with transaction.atomic():
        items = list(items_not_held().filter(record__status=SupervisionRecord.Status.DRAFT))
        for record in {item.record_id: item.record for item in items}.values():
            audit.record(None, audit.Action.CHANGE, record)
        SupervisionCaseItem.objects.filter(pk__in=[item.pk for item in items]).delete()
    return len(items)
