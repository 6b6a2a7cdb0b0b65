"""Writes and rules of supervision: views of workload, proposals, concerns,
and the supervision record from draft to both signatures."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
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
from weighting.models import Rating

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
    earlier open proposal of theirs for that case."""
    if not why.strip():
        raise RuleBroken("Say briefly why the rating should change.")
    holds = Allocation.objects.primary().open().filter(case=case, person=person).exists()
    if not holds:
        raise RuleBroken(f"You do not hold case {case}.")
    scheme = weighting.scheme_in_force(case.team)
    if scheme is None:
        raise RuleBroken(f"{case.team} has no agreed weighting scheme yet.")
    criteria = list(scheme.criteria.prefetch_related("levels"))
    chosen = weighting.levels_for(criteria, levels, "proposal")
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
        held = (
            Case.objects.filter(
                allocations__person=worker,
                allocations__kind=Allocation.Kind.PRIMARY,
            )
            .filter(
                Q(allocations__end_date__isnull=True) | Q(allocations__end_date__gt=held_on),
                allocations__start_date__lte=held_on,
            )
            .distinct()
        )
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


def record_save_draft(*, record: SupervisionRecord, change: RecordChange) -> SupervisionRecord:
    """Save what has been typed so far. Drafts can be saved at any time, half
    finished; the checks come at the supervisor's signature."""
    with transaction.atomic():
        record = SupervisionRecord.objects.select_for_update().get(pk=record.pk)
        if not record.is_draft:
            raise RuleBroken("This record is signed and cannot change; add an addendum instead.")
        for name in (
            "caseload_discussion",
            "deviation_agreed",
            "deviation_reason",
            "time_for_direct_work",
            "other_demands",
            "asye_factor",
            "actions",
            "next_supervision",
        ):
            value = getattr(change, name)
            setattr(record, name, value.strip() if isinstance(value, str) else value)
        record.save()
        for item in record.items.filter(pk__in=change.items):
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


def _check_complete(record: SupervisionRecord) -> None:
    problems = []
    if not record.caseload_discussion.strip():
        problems.append(
            "Record the discussion of the relative complexity of the cases "
            "and the impact on capacity."
        )
    if record.deviation_agreed is None:
        problems.append("Say whether a deviation from the average caseload is agreed.")
    elif record.deviation_agreed and not record.deviation_reason.strip():
        problems.append("Give the reason for the agreed deviation from the average caseload.")
    if record.analysis_included and not (
        record.time_for_direct_work.strip() and record.other_demands.strip()
    ):
        problems.append(
            "Complete the caseload analysis: time for direct work, "
            "and issues meeting other demands."
        )
    if record.next_supervision is None:
        problems.append("Give the date of the next supervision.")
    if record.held_on > _today():
        problems.append("A supervision in the future cannot be signed yet.")
    if record.asye_factor is not None and record.worker.role != Person.Role.ASYE:
        problems.append("An experience factor is agreed only for an ASYE.")
    if problems:
        raise RuleBroken(problems)


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
        _check_complete(record)
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
