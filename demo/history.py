"""The demo's history: what the scheduled jobs would have stored (daily
snapshots, 12-week analyses, escalations, quarterly reviews), supervision
records and workload concerns, and DMT's decisions."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from caseload.dates import Quarter, add_months
from caseload.models import Case, Person
from demo.council import Council
from demo.plan import HISTORY_QUARTERS, TEAMS, member_joined
from reports.models import CapacityIssue, CaseloadSnapshot, DmtDecision, Escalation
from reports.services.analyses import analyse
from reports.services.dmt import capacity_issue_raise, decision_record
from reports.services.escalations import escalate, escalation_assess
from reports.services.reviews import quarterly_review
from reports.services.snapshots import backfill_snapshots, recompute_stale
from supervision import services as supervision
from supervision.models import SupervisionRecord, WorkloadConcern
from weighting.bands import OVER_MAXIMUM_BANDS


def build_snapshots_and_analyses(council: Council) -> None:
    """What the scheduled jobs would have stored over the history: daily
    snapshots and each worker's 12-week analyses (which the supervision
    records then discuss)."""
    first = council.days_ago(council.history_days)
    backfill_snapshots(first, council.today)
    joined = {
        council.people[m.username].pk: m.joined_days_ago
        for plan in TEAMS
        for m in plan.members
        if m.role in Person.CASE_HOLDING_ROLES
    }
    # Every 84 days from a worker's first day in a team.
    analysis_days: dict[int, list[int]] = {}
    for person_id, days_ago in joined.items():
        for ago in range(min(days_ago, council.history_days) - 84, -1, -84):
            analysis_days.setdefault(ago, []).append(person_id)
    for ago, person_ids in sorted(analysis_days.items(), reverse=True):
        analyse(person_ids, council.days_ago(ago), notify_people=False)


def build_supervision(council: Council) -> None:
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
        worker = council.people[username]
        supervisor = worker.supervisor
        interval = supervision.supervision_interval(worker).days
        # An analysis about twelve weeks ago, then regular supervisions since.
        held = [council.days_ago(weeks_ago * 7 + interval * n) for n in range(3, -1, -1)]
        for index, held_on in enumerate(held):
            if held_on < council.days_ago(min(member_joined(username), 500) - 7):
                continue
            record = supervision.record_open(worker=worker, supervisor=supervisor, held_on=held_on)
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
            signed = timezone.make_aware(datetime.datetime.combine(held_on, datetime.time(15, 30)))
            SupervisionRecord.objects.filter(pk=record.pk).update(
                supervisor_signed_at=signed, worker_signed_at=signed
            )
        if comment:
            supervision.workload_view_record(person=worker, scale=scale, comment=comment)
    # Asha proposes that a case she holds is re-rated before her next supervision.
    asha = council.people["worker"]
    case = (
        Case.objects.filter(
            allocations__person=asha, allocations__end_date__isnull=True, ratings__isnull=False
        )
        .distinct()
        .order_by("reference")
        .first()
    )
    ids = council.criteria_ids(case.team, council.today)
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
        person=council.people["daniel.reid"],
        concern="I have had four new cases in three weeks and I am working late most "
        "evenings to keep up with visits and court reports.",
    )
    WorkloadConcern.objects.filter(pk=daniel.pk).update(
        raised_at=timezone.now() - datetime.timedelta(days=12),
        respond_by=council.days_ago(4),
    )
    isaac = supervision.concern_raise(
        person=council.people["isaac.brown"],
        concern="Since two colleagues left I am covering their short breaks reviews too.",
    )
    supervision.concern_respond(
        concern=isaac,
        response="Agreed: the six reviews move to the new starter from next month, and "
        "no new allocations to you until then.",
        by=council.people["cwd.manager"],
    )


def build_escalations_and_reviews(council: Council) -> None:
    """The snapshots brought up to date with the ratings agreed in
    supervision, then escalations (those whose run over the maximum ended
    are resolved) and the past eight quarterly reviews."""
    recompute_stale()
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
        escalate_run(council, run, senior)
    for escalation in Escalation.objects.open().select_related("person__supervisor"):
        escalation_assess(
            escalation=escalation,
            work_ongoing=True,
            assessment="Most of the court work continues into next year; a new starter "
            "in January should take four cases.",
            by=escalation.person.supervisor,
        )
    quarter = Quarter.containing(council.today)
    for _ in range(HISTORY_QUARTERS):
        quarter = quarter.previous
        for service in council.services.values():
            quarterly_review(service, quarter)


def escalate_run(council: Council, run: list[datetime.date], senior: dict[int, Person]) -> None:
    """Escalate a past run over the maximum as the daily job would have;
    one that has ended was resolved the day after."""
    due = add_months(run[0], 3) + datetime.timedelta(days=1)
    if due > run[-1]:
        return
    escalate(due)
    if run[-1] == council.today:
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


def build_dmt_decisions(council: Council) -> None:
    """DMT's decisions at the meeting after the quarter before last, and a
    capacity issue a manager has just put on the agenda."""
    dmt = council.people["dmt"]
    quarter = Quarter.containing(council.today).previous.previous
    meeting = min(quarter.end + datetime.timedelta(days=14), council.today)
    decision_record(
        team=council.teams["Children with Disabilities"],
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
    decision_record(
        team=council.teams["Child Protection"],
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
    looked_after = council.teams["Looked After Children"]
    issue = capacity_issue_raise(
        team=looked_after,
        by=looked_after.managers.first(),
        summary="Two leavers in December: caseloads will pass 22 children per FTE",
        detail="Two social workers leave on 18 December and the posts are not yet "
        "advertised. Spreading their cases would take every worker above the "
        "aspiration. We need agreement to advertise now and cover from agency staff.",
    )
    CapacityIssue.objects.filter(pk=issue.pk).update(raised_on=council.days_ago(9))
