"""The access audit: who viewed, created, changed or ended which case,
allocation, rating or supervision record, and who opened which listing of
cases. One row an action or a page, written with it (a view writes its row
as the one write a GET makes); rows are deleted only past the retention
period."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from caseload.models import AccessRecord, Case, Person

Actor = AbstractBaseUser | AnonymousUser | Person | None
Action = AccessRecord.Action
Listing = AccessRecord.Listing


def _user(actor: Actor) -> AbstractBaseUser | None:
    if actor is None:
        return None
    if isinstance(actor, Person):
        return actor.user
    return actor if actor.is_authenticated else None


# The records the audit covers, by model label (the apps above this one own
# ratings and supervision records): each gives its record type, its case's
# reference and whose record it is, never any case text.
_AUDITED: dict[str, tuple[str, Callable[[Any], tuple[str, int | None]]]] = {
    "caseload.Case": (AccessRecord.RecordType.CASE, lambda case: (case.reference, None)),
    "caseload.Allocation": (
        AccessRecord.RecordType.ALLOCATION,
        lambda allocation: (allocation.case.reference, allocation.person_id),
    ),
    "weighting.Rating": (
        AccessRecord.RecordType.RATING,
        lambda rating: (rating.case.reference, None),
    ),
    "supervision.SupervisionRecord": (
        AccessRecord.RecordType.SUPERVISION_RECORD,
        lambda record: ("", record.worker_id),
    ),
}


def _describe(obj: Any) -> tuple[str, int, str, Person | int | None]:
    """Record type, id, case reference and whose record, with no case text."""
    try:
        record_type, describe = _AUDITED[obj._meta.label]
    except (AttributeError, KeyError):
        raise TypeError(f"{type(obj).__name__} is not audited") from None
    reference, subject = describe(obj)
    return record_type, obj.pk, reference, subject


# Another system writing through the case-events API (the `api` app): its
# rows name it, as a page's rows name the person.
_system: ContextVar[str] = ContextVar("acting_system", default="")


@contextmanager
def system_acting(name: str) -> Iterator[None]:
    """Rows written with no person acting name the system `name` meanwhile."""
    token = _system.set(name)
    try:
        yield
    finally:
        _system.reset(token)


def acting_system() -> str:
    """The name of the system acting now, or ""."""
    return _system.get()


def _by(actor: Actor) -> dict[str, Any]:
    user = _user(actor)
    if user is None and _system.get():
        return {"user": None, "username": _system.get()[:150]}
    return {"user": user, "username": user.get_username() if user else ""}


def _row(actor: Actor, action: str, obj: Any) -> AccessRecord:
    record_type, record_id, reference, subject = _describe(obj)
    return AccessRecord(
        **_by(actor),
        action=action,
        record_type=record_type,
        record_id=record_id,
        case_reference=reference,
        subject_id=subject,
    )


def record(actor: Actor, action: str, obj: Any, *, also_shown: Iterable[int] = ()) -> AccessRecord:
    """One row for an action on one record. `also_shown`: the ids of other
    cases its page shows (a supervision record's cases)."""
    row = _row(actor, action, obj)
    row.case_ids = sorted(set(also_shown))
    row.save()
    return row


def record_many(actor: Actor, action: str, objects: Iterable[Any]) -> int:
    """One row for each of many records (an import), in one insert."""
    rows = [_row(actor, action, obj) for obj in objects]
    AccessRecord.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def record_listing(actor: Actor, listing: str, cases: Iterable[int] | QuerySet[Case]) -> None:
    """One row for a page or file that lists cases: who, when, which listing
    and the cases' ids (never their text), in one insert however many. Give
    the ids shown, or the query of the cases shown, which the database then
    reads inside the insert (for a page that did not read them itself)."""
    ids = _ids_in_the_insert(cases) if isinstance(cases, QuerySet) else sorted(set(cases))
    AccessRecord(
        **_by(actor),
        action=Action.VIEW,
        record_type=AccessRecord.RecordType.LISTING,
        listing=listing,
        case_ids=ids,
    ).save()


def _ids_in_the_insert(cases: QuerySet[Case]) -> RawSQL:
    """The cases' ids as a JSON list, computed by the database."""
    sql, params = cases.order_by("pk").values(listed_id=F("pk")).query.sql_with_params()
    if connection.vendor == "postgresql":
        ids = "COALESCE(jsonb_agg(listed.listed_id ORDER BY listed.listed_id), '[]'::jsonb)"
    else:
        ids = "json_group_array(listed.listed_id)"
    # The SQL is Django's own for the query; its values are parameters.
    return RawSQL(f"(SELECT {ids} FROM ({sql}) AS listed)", params)  # noqa: S608, S611


# Retention ------------------------------------------------------------------------


def retention_limit(now: datetime.datetime) -> datetime.datetime:
    """Rows before this moment are past the retention period."""
    if (now.month, now.day) == (2, 29):
        now = now.replace(day=28)
    return now.replace(year=now.year - settings.AUDIT_RETENTION_YEARS)


def delete_expired(now: datetime.datetime | None = None) -> int:
    """Delete the rows past the retention period, in one statement: the one
    deletion the audit allows. On PostgreSQL the audit's trigger lets it
    through only while this transaction says so (SET LOCAL), and it says so
    for this statement alone."""
    limit = AccessRecord._meta.get_field("at").get_db_prep_value(
        retention_limit(now or timezone.now()), connection
    )
    table = connection.ops.quote_name(AccessRecord._meta.db_table)
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            cursor.execute("SET LOCAL caseload.audit_retention = 'on'")
        cursor.execute(f"DELETE FROM {table} WHERE at < %s", [limit])  # noqa: S608 - our table
        deleted = cursor.rowcount
        if postgresql:
            cursor.execute("SET LOCAL caseload.audit_retention = 'off'")
    return deleted
