"""The access audit: who viewed, created, changed or ended which case,
allocation, rating or supervision record. One row an action, written with
the action itself (a view writes its row as the one write a GET makes)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

from caseload.models import AccessRecord, Allocation, Case, Person

Actor = AbstractBaseUser | AnonymousUser | Person | None
Action = AccessRecord.Action


def _user(actor: Actor) -> AbstractBaseUser | None:
    if actor is None:
        return None
    if isinstance(actor, Person):
        return actor.user
    return actor if actor.is_authenticated else None


def _describe(obj: Any) -> tuple[str, int, str, Person | int | None]:
    """Record type, id, case reference and whose record, with no case text."""
    from supervision.models import SupervisionRecord
    from weighting.models import Rating

    if isinstance(obj, Case):
        return AccessRecord.RecordType.CASE, obj.pk, obj.reference, None
    if isinstance(obj, Allocation):
        return AccessRecord.RecordType.ALLOCATION, obj.pk, obj.case.reference, obj.person_id
    if isinstance(obj, Rating):
        return AccessRecord.RecordType.RATING, obj.pk, obj.case.reference, None
    if isinstance(obj, SupervisionRecord):
        return AccessRecord.RecordType.SUPERVISION_RECORD, obj.pk, "", obj.worker_id
    raise TypeError(f"{type(obj).__name__} is not audited")


def _row(actor: Actor, action: str, obj: Any) -> AccessRecord:
    record_type, record_id, reference, subject = _describe(obj)
    user = _user(actor)
    return AccessRecord(
        user=user,
        username=user.get_username() if user else "",
        action=action,
        record_type=record_type,
        record_id=record_id,
        case_reference=reference,
        subject_id=subject,
    )


def record(actor: Actor, action: str, obj: Any) -> AccessRecord:
    row = _row(actor, action, obj)
    row.save()
    return row


def record_many(actor: Actor, action: str, objects: Iterable[Any]) -> int:
    """One row for each of many records (an import), in one insert."""
    rows = [_row(actor, action, obj) for obj in objects]
    AccessRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
