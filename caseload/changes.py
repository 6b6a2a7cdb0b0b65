"""Which version of the council's records a page was worked out from.

On PostgreSQL every table of Caseload's own apps carries a trigger that
notes, in the same transaction, that its records changed: a row of
`caseload_datachange`. The note becomes visible when the transaction
commits, together with the changes, and not before; a transaction that
rolls back leaves none. The sum
of the notes' weights (`data_version`) therefore grows with every committed
change, however it was made (a page, a job, an import, the admin, SQL by
hand), and never repeats.

A page that is expensive to work out keeps its result under that version
(`kept`): the next request finds it only if nothing has been committed since.
A request reads the version before the records, so what it keeps is never
older than the version it is kept under. See ADR 0012.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from django.core.cache import cache
from django.db import connection, transaction

T = TypeVar("T")

# Tables whose changes no kept page shows, and which are written when pages
# are only read: noting them would throw kept pages away on every read.
NOT_NOTED = frozenset(
    {
        "caseload_datachange",  # the notes themselves
        "caseload_accessrecord",  # the access audit: a row for each case viewed
    }
)
NOTED_APPS = ("caseload", "weighting", "supervision", "reports")

# How long a kept page may be served at most, whatever the version says.
KEEP_SECONDS = 300

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION caseload_note_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One note per transaction: the setting is local to the transaction
    -- (and undone with a savepoint that is rolled back).
    IF current_setting('caseload.change_noted', true) IS DISTINCT FROM '1' THEN
        INSERT INTO caseload_datachange (weight) VALUES (1);
        PERFORM set_config('caseload.change_noted', '1', true);
    END IF;
    RETURN NULL;
END;
$$
"""


def note_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    """Give each table the trigger that notes its changes. For migrations:
    every new table of the noted apps needs it (a test checks). PostgreSQL
    only: on SQLite, the one-process embedded default, pages are not kept."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(_POSTGRES_FUNCTION)
    for table in tables:
        # After the statement, not per row: a bulk import notes once.
        # Inserting a row takes no lock another writer could wait on.
        schema_editor.execute(
            f"CREATE TRIGGER caseload_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {schema_editor.quote_name(table)} "
            "FOR EACH STATEMENT EXECUTE FUNCTION caseload_note_change()"
        )


def forget_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        name = schema_editor.quote_name(table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS caseload_note_change ON {name}")


def tables_noting_changes() -> set[str]:
    """The tables that carry the trigger, read from the database."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'caseload_note_change'"
        )
        return {row[0] for row in cursor.fetchall()}


def data_version() -> tuple[int, bool]:
    """The version of the records, and whether this transaction has changed
    them itself (then what it reads is not yet everyone's)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COALESCE(SUM(weight), 0), current_setting('caseload.change_noted', true) = '1' "
            "FROM caseload_datachange"
        )
        version, changed_here = cursor.fetchone()
    return int(version), bool(changed_here)


def tidy_notes() -> None:
    """Fold the notes into one row of the same total (for the daily jobs)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM caseload_datachange RETURNING weight")
        total = sum(row[0] for row in cursor.fetchall())
        # This transaction counts as a change too, so the version still grows.
        cursor.execute("INSERT INTO caseload_datachange (weight) VALUES (%s)", [total + 1])


def kept(key: str, work_out: Callable[[], T]) -> T:
    """What `work_out()` returns (a page's HTML), kept under `key` and the
    version of the records: worked out again once any change is committed.
    Worked out every time on SQLite, and in a transaction that has changed
    records itself."""
    if connection.vendor != "postgresql":
        return work_out()
    version, changed_here = data_version()
    if changed_here:
        return work_out()
    name = f"kept:{key}:{version}"
    value = cache.get(name)
    if value is None:
        value = work_out()
        cache.set(name, value, KEEP_SECONDS)
    return value
