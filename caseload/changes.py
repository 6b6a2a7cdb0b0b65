"""Which version of the council's records a page was worked out from.

On PostgreSQL every table of Caseload's own apps carries a trigger that
notes, in the same transaction, that its records changed: a row of
`caseload_datachange` naming the table. The note becomes visible when the
transaction commits, together with the changes, and not before; a
transaction that rolls back leaves none. The sum of the notes' weights
(`data_version`) therefore grows with every committed change, however it was
made (a page, a job, an import, the admin, SQL by hand), and never repeats.

A page that is expensive to work out keeps its result under that version
(`kept`): the next request finds it only if nothing has been committed since.
A request reads the version before the records, so what it keeps is never
older than the version it is kept under. See ADR 0012.

Parts of a page can be kept more finely (ADR 0014). A part worked out by
`kept_reading` is kept with the tables it read (every query it makes is
looked at) and is thrown away only by a change to one of them. The changes a
team's numbers today turn on also name the teams they reach
(`caseload_note_teams`): a change to an allocation, a rating or a case names
the teams of the case and of everyone who holds or held it; a change to one
person's records (supervision, concerns, protected time, experience factor,
escalations, over-maximum plans), or to their own row other than their name
or service, names that person's teams; a change to a membership, to a team or
to a DMT decision about a team names the teams. A team's part
(`kept_for_teams`, or `kept_reading` with a team) is thrown away by those
changes only when they name the team, and by any change to the other tables
it read.

Kept parts are held twice (ADR 0015): in each process's memory, and in the
database (`caseload_keptpart`), where every web process finds what another
worked out, a restart loses nothing, and the daily jobs leave the parts of
the day's first views. The database holds them beside the notes they are
checked against, so a restored database restores both together.

Every minute the notes are folded into one for each table and set of teams
(`fold_notes`, ADR 0016): every version stays what it was, and the notes
every view reads stay few however many changes the day brings.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import pickle
import re
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection, transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

# Tables whose changes no kept page shows, and which are written when pages
# are only read: noting them would throw kept pages away on every read.
NOT_NOTED = frozenset(
    {
        "caseload_datachange",  # the notes themselves
        "caseload_accessrecord",  # the access audit: a row for each case viewed
        "caseload_keptpart",  # kept parts, written when pages are read
    }
)
NOTED_APPS = ("caseload", "weighting", "supervision", "reports")

# How long a kept page may be served at most, whatever the version says.
KEEP_SECONDS = 300

_POSTGRES_FUNCTION = """
CREATE OR REPLACE FUNCTION caseload_note_table(source text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    -- One note per table and transaction: the settings are local to the
    -- transaction (and undone with a savepoint that is rolled back).
    IF current_setting('caseload.noted_' || source, true) IS DISTINCT FROM '1' THEN
        INSERT INTO caseload_datachange (weight, table_name) VALUES (1, source);
        PERFORM set_config('caseload.noted_' || source, '1', true);
        PERFORM set_config('caseload.change_noted', '1', true);
    END IF;
END;
$$;
CREATE OR REPLACE FUNCTION caseload_note_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM caseload_note_table(TG_TABLE_NAME);
    RETURN NULL;
END;
$$
"""

# The changes a team's numbers today turn on, noted with the teams they reach:
# those of cases (through the case's team and its holders) ...
CASE_SCOPED_TABLES = ("caseload_allocation", "caseload_case", "weighting_rating")
# ... and those of one person (through the person's teams), by the column
# that names the person.
PERSON_SCOPED_TABLES = {
    "caseload_overmaximum": "person_id",
    "reports_escalation": "person_id",
    "supervision_supervisionrecord": "worker_id",
    "supervision_workloadconcern": "person_id",
    "weighting_experiencefactor": "person_id",
    "weighting_reduction": "person_id",
}
# ... and those of teams: who is in them, their own rows, and DMT's decisions
# about them.
TEAM_SCOPED_TABLES = ("caseload_teammembership", "caseload_team", "reports_dmtdecision")
# A person's own row is scoped by what changed: a move to another service, a
# new or deleted person reach every team; their hours, role, supervisor or
# ASYE start reach the teams they are or were in, whose numbers and rows show
# them. Pages show people by name in teams they are not in (a team's
# managers, who recorded a decision): a new name is noted apart, under a
# table name of its own and naming no team, which counts as a change to the
# people table wherever it is read.
PERSON_TABLE = "caseload_person"
NAMES_TABLE = "caseload_person_name"
# The versions of the people table for a part that reads people only for
# their names (`kept_reading(..., names_only=True)`: the notes that name no
# team, new names among them), and for a part that shows no one's name
# (`kept_for_teams(..., names_unread=True)`: every note but new names).
NAMES_OF_PEOPLE = f"{PERSON_TABLE} (names)"
PEOPLE_BUT_NAMES = f"{PERSON_TABLE} (but names)"

_NOTE_TEAMS = """
CREATE OR REPLACE FUNCTION caseload_note_teams(
    source text, case_ids bigint[], person_ids bigint[], team_ids bigint[]
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    teams bigint[];
BEGIN
    -- The cases and people are locked until this transaction ends, as an
    -- allocation locks them, and as a move between teams locks the person:
    -- of two transactions that change the same case or person, the one
    -- that commits last reads (each statement here reads afresh) what the
    -- other committed, and names the teams of both.
    -- (IN a set, not = ANY an array: a bulk write of 20,000 rows into a table
    -- without statistics yet would compare every row with every id.)
    PERFORM 1 FROM caseload_case
    WHERE id IN (SELECT unnest(case_ids)) ORDER BY id FOR NO KEY UPDATE;
    person_ids := person_ids || ARRAY(
        SELECT DISTINCT person_id FROM caseload_allocation
        WHERE case_id IN (SELECT unnest(case_ids))
    );
    PERFORM 1 FROM caseload_person
    WHERE id IN (SELECT unnest(person_ids)) ORDER BY id FOR NO KEY UPDATE;
    teams := ARRAY(
        SELECT team_id FROM caseload_case WHERE id IN (SELECT unnest(case_ids))
        UNION SELECT team_id FROM caseload_teammembership
        WHERE person_id IN (SELECT unnest(person_ids))
        UNION SELECT unnest(team_ids)
    );
    INSERT INTO caseload_datachange (weight, table_name, teams)
    VALUES (1, source, array_remove(teams, NULL));
    PERFORM set_config('caseload.change_noted', '1', true);
END;
$$
"""


def _scoped_function(table: str, cases: str, people: str, teams: str) -> str:
    """The trigger function of a scoped table: the cases, people and teams its
    changed rows (before and after the change) name."""

    def ids(column: str, *rows: str) -> str:
        # Our own column and transition table names, not input.
        if not column:
            return "'{}'::bigint[]"
        return " || ".join(f"ARRAY(SELECT {column} FROM {r})" for r in rows)  # noqa: S608

    def of(*rows: str) -> str:
        return f"{ids(cases, *rows)}, {ids(people, *rows)}, {ids(teams, *rows)}"

    # One note a statement; an update's names both its rows before and after.
    return f"""
CREATE OR REPLACE FUNCTION caseload_note_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM caseload_note_teams(TG_TABLE_NAME, {of("new_rows")});
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM caseload_note_teams(TG_TABLE_NAME, {of("old_rows")});
    ELSE
        PERFORM caseload_note_teams(TG_TABLE_NAME, {of("new_rows", "old_rows")});
    END IF;
    RETURN NULL;
END;
$$
"""


PERSON_FUNCTION = """
CREATE OR REPLACE FUNCTION caseload_note_caseload_person() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- (Only an update's trigger has both transition tables to compare.)
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
            WHERE n.id IS NULL OR n.service_id IS DISTINCT FROM o.service_id
        ) THEN
            PERFORM caseload_note_teams(
                TG_TABLE_NAME, '{}'::bigint[], ARRAY(SELECT id FROM new_rows), '{}'::bigint[]
            );
            IF EXISTS (
                SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE n.full_name IS DISTINCT FROM o.full_name
            ) THEN
                PERFORM caseload_note_table('caseload_person_name');  -- NAMES_TABLE
            END IF;
            RETURN NULL;
        END IF;
    END IF;
    PERFORM caseload_note_table(TG_TABLE_NAME);
    RETURN NULL;
END;
$$
"""


SCOPED_FUNCTIONS = (
    _NOTE_TEAMS,
    _scoped_function("caseload_allocation", cases="case_id", people="person_id", teams=""),
    # A case's old team loses it from its queue when it moves: both are named.
    _scoped_function("caseload_case", cases="id", people="", teams="team_id"),
    _scoped_function("weighting_rating", cases="case_id", people="", teams=""),
    *(
        _scoped_function(table, cases="", people=column, teams="")
        for table, column in PERSON_SCOPED_TABLES.items()
    ),
    # A move between teams names both teams (and the person's others).
    _scoped_function("caseload_teammembership", cases="", people="person_id", teams="team_id"),
    # A team's own row: its name and aspiration.
    _scoped_function("caseload_team", cases="", people="", teams="id"),
    # A decision about a team (an agreed deviation is part of its position).
    _scoped_function("reports_dmtdecision", cases="", people="", teams="team_id"),
    PERSON_FUNCTION,
)


def _triggers(table: str, function: str) -> list[str]:
    """Statement triggers that see the changed rows (one trigger per event:
    PostgreSQL gives transition tables to single-event triggers only)."""
    on = f'ON "{table}"'
    return [
        f"CREATE TRIGGER caseload_note_insert AFTER INSERT {on} REFERENCING NEW TABLE AS "
        f"new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER caseload_note_update AFTER UPDATE {on} REFERENCING OLD TABLE AS "
        f"old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"CREATE TRIGGER caseload_note_delete AFTER DELETE {on} REFERENCING OLD TABLE AS "
        f"old_rows FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        # Emptying a table reaches every team (and names no rows).
        f"CREATE TRIGGER caseload_note_truncate AFTER TRUNCATE {on} "
        "FOR EACH STATEMENT EXECUTE FUNCTION caseload_note_change()",
    ]


TRIGGERS_OF_SCOPED_TABLES = {
    table: _triggers(table, f"caseload_note_{table}")
    for table in (*CASE_SCOPED_TABLES, *PERSON_SCOPED_TABLES, *TEAM_SCOPED_TABLES, PERSON_TABLE)
}


def note_changes_to(  # type: ignore[no-untyped-def]
    schema_editor, tables: Iterable[str], *, function: bool = True
) -> None:
    """Give each table the trigger that notes its changes. For migrations:
    every new table of the noted apps needs it (a test checks). PostgreSQL
    only: on SQLite, the one-process embedded default, pages are not kept."""
    if schema_editor.connection.vendor != "postgresql":
        return
    if function:
        schema_editor.execute(_POSTGRES_FUNCTION)
    for table in tables:
        # After the statement, not per row: a bulk import notes once.
        # Inserting a row takes no lock another writer could wait on.
        schema_editor.execute(
            f"CREATE TRIGGER caseload_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {schema_editor.quote_name(table)} "
            "FOR EACH STATEMENT EXECUTE FUNCTION caseload_note_change()"
        )


def scope_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    """Give each table, in place of its plain trigger, the triggers that name
    the teams its changes reach (with the functions they call). For
    migrations; PostgreSQL only."""
    for function in SCOPED_FUNCTIONS:
        schema_editor.execute(function)
    for table in tables:
        schema_editor.execute(
            f"DROP TRIGGER caseload_note_change ON {schema_editor.quote_name(table)}"
        )
        for trigger in TRIGGERS_OF_SCOPED_TABLES[table]:
            schema_editor.execute(trigger)


def unscope_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    """Undo `scope_changes_to`: each table has the plain trigger again."""
    tables = list(tables)
    for table in tables:
        for event in ("insert", "update", "delete", "truncate"):
            name = schema_editor.quote_name(table)
            schema_editor.execute(f"DROP TRIGGER IF EXISTS caseload_note_{event} ON {name}")
    note_changes_to(schema_editor, tables, function=False)


def forget_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        name = schema_editor.quote_name(table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS caseload_note_change ON {name}")


def tables_noting_changes() -> dict[str, set[str]]:
    """The tables that carry a noting trigger, with the events it notes,
    read from the database."""
    events = {1 << 2: "INSERT", 1 << 3: "DELETE", 1 << 4: "UPDATE", 1 << 5: "TRUNCATE"}
    noted: dict[str, set[str]] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'caseload\\_note\\_%%' AND NOT t.tgisinternal"
        )
        for table, kind in cursor.fetchall():
            noted.setdefault(table, set()).update(
                name for bit, name in events.items() if kind & bit
            )
    return noted


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
    """Fold the notes into one row of the same total (for the daily jobs). It
    names no table and no team: a change to every one, so every version goes
    on growing, and every kept part is worked out again once."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM caseload_datachange RETURNING weight")
        total = sum(row[0] for row in cursor.fetchall())
        # This transaction counts as a change too, so the version still grows.
        cursor.execute("INSERT INTO caseload_datachange (weight) VALUES (%s)", [total + 1])
        # Every version has grown: no kept part will stand again.
        cursor.execute("DELETE FROM caseload_keptpart")


# One note for each table and set of teams, of the weight of all of them.
_FOLD = """
WITH folded AS (DELETE FROM caseload_datachange RETURNING weight, table_name, teams),
     written AS (
         INSERT INTO caseload_datachange (weight, table_name, teams)
         SELECT SUM(weight), table_name, teams FROM folded GROUP BY table_name, teams
         RETURNING 1
     )
SELECT (SELECT count(*) FROM folded), (SELECT count(*) FROM written)
"""


def fold_notes() -> tuple[int, int]:
    """Fold the notes of each table and set of teams into one of their summed
    weight (every minute): each version is a sum of notes by table and team,
    so every version stays what it was and no kept part is thrown away, while
    the notes every view reads stay as few as the tables and teams, however
    many changes the day brings (ADR 0016). Notes written meanwhile by
    transactions not yet committed are left as they are. Returns how many
    notes there were and how many there are."""
    if connection.vendor != "postgresql":
        return 0, 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_FOLD)
        before, after = cursor.fetchone()
    return int(before), int(after)


def keeps() -> bool:
    """Whether pages and parts are kept: on PostgreSQL, whose triggers note
    the changes (SQLite works everything out every time, ADR 0012)."""
    return connection.vendor == "postgresql"


def kept(key: str, work_out: Callable[[], T]) -> T:
    """What `work_out()` returns (a page's HTML), kept under `key` and the
    version of the records: worked out again once any change is committed.
    Worked out every time on SQLite, and in a transaction that has changed
    records itself."""
    if not keeps():
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


# Kept parts ----------------------------------------------------------------------------

# Our apps' tables, as they appear in the SQL of a query (Django quotes them;
# the hand-written queries name them bare).
_TABLE = re.compile(r"\b(?:caseload|weighting|supervision|reports)_[a-z0-9_]+\b")


@contextlib.contextmanager
def tables_read() -> Iterator[set[str]]:
    """The tables of our apps that the queries made inside the block name.
    (A name that is a column's or an alias's would only make a kept part
    depend on more than it needs.)"""
    found: set[str] = set()

    def note(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        found.update(_TABLE.findall(sql))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(note):
        yield found


@dataclass
class Versions:
    """The version of each table's records: in all, and as a team sees it
    (the notes that name no team, and those that name this one)."""

    every: int = 0  # notes that name no table: a change to every table
    tables: dict[str, int] = field(default_factory=dict)  # every note, by table
    unscoped: dict[str, int] = field(default_factory=dict)  # notes naming no team
    teams: dict[tuple[str, int], int] = field(default_factory=dict)  # by table and team
    changed_here: bool = False

    def of(self, table: str, team: int | None = None) -> int:
        if table == NAMES_OF_PEOPLE:
            return (
                self.every + self.unscoped.get(PERSON_TABLE, 0) + self.unscoped.get(NAMES_TABLE, 0)
            )
        if table == PEOPLE_BUT_NAMES:
            return self.every + self._notes(PERSON_TABLE, team)
        if table == PERSON_TABLE:
            return self.every + self._notes(PERSON_TABLE, team) + self._notes(NAMES_TABLE, team)
        return self.every + self._notes(table, team)

    def _notes(self, table: str, team: int | None) -> int:
        """The weight of the table's notes: all of them, or as the team sees them."""
        if team is None:
            return self.tables.get(table, 0)
        return self.unscoped.get(table, 0) + self.teams.get((table, team), 0)

    def still(self, kept_under: dict[str, int], team: int | None = None) -> bool:
        return all(self.of(table, team) == version for table, version in kept_under.items())


_VERSIONS = """
SELECT 0, table_name, NULL::bigint, SUM(weight) FROM caseload_datachange GROUP BY table_name
UNION ALL
SELECT 1, table_name, NULL, SUM(weight) FROM caseload_datachange
WHERE teams IS NULL GROUP BY table_name
UNION ALL
SELECT 2, n.table_name, team, SUM(n.weight) FROM caseload_datachange n, unnest(n.teams) AS team
WHERE team = ANY(%s) GROUP BY n.table_name, team
UNION ALL
SELECT 3, NULL, NULL, (current_setting('caseload.change_noted', true) = '1')::int
"""


# The same for one team or none, in one pass over the notes (the team page
# asks on every view). No notes at all: nothing changed in this transaction
# either, since its own notes would be seen.
_VERSIONS_OF_ONE = """
SELECT table_name, SUM(weight), SUM(weight) FILTER (WHERE teams IS NULL),
       SUM(weight) FILTER (WHERE %s = ANY(teams)),
       current_setting('caseload.change_noted', true) = '1'
FROM caseload_datachange GROUP BY table_name
"""


def versions(team_ids: Collection[int] = ()) -> Versions:
    """Every table's version, and as these teams see them, in one query
    (none on SQLite, which keeps nothing)."""
    found = Versions()
    if connection.vendor != "postgresql":
        return found
    if len(team_ids) <= 1:
        team = next(iter(team_ids), None)
        with connection.cursor() as cursor:
            cursor.execute(_VERSIONS_OF_ONE, [team])
            for table, weight, unscoped, scoped, changed_here in cursor.fetchall():
                found.changed_here = bool(changed_here)
                if table is None:
                    found.every = int(weight)
                    continue
                found.tables[table] = int(weight)
                found.unscoped[table] = int(unscoped or 0)
                if team is not None:
                    found.teams[(table, team)] = int(scoped or 0)
        return found
    with connection.cursor() as cursor:
        cursor.execute(_VERSIONS, [list(team_ids)])
        for kind, table, team, weight in cursor.fetchall():
            if kind == 0 and table is None:
                found.every = int(weight)
            elif kind == 0:
                found.tables[table] = int(weight)
            elif kind == 1 and table is not None:
                found.unscoped[table] = int(weight)
            elif kind == 2 and table is not None:
                found.teams[(table, team)] = int(weight)
            elif kind == 3:
                found.changed_here = bool(weight)
    return found


def kept_reading(
    key: str,
    work_out: Callable[[], T],
    *,
    team: int | None = None,
    also: Iterable[str] = (),
    now: Versions | None = None,
    names_only: bool = False,
) -> T:
    """What `work_out()` returns, kept with the versions of the tables it read
    (and of the tables `also` names: those of records handed to it): worked
    out again once a change to one of them is committed. With `team`, for a
    part that shows only that team's people and cases, the versions as the
    team sees them: changes that reach only other teams leave it kept.
    `now`: the versions, when the caller has read them already.
    `names_only`: the part shows no more of people than their names, and is
    kept through changes to their hours, roles and supervisors."""
    if not keeps():
        return work_out()
    if now is None:
        now = versions([] if team is None else [team])
    if now.changed_here:
        return work_out()
    name = f"kept-part:{key}"
    found = _standing({name: name}, lambda _, kept_under: now.still(kept_under, team))
    if name in found:
        return found[name]
    with tables_read() as tables:
        value = work_out()
    tables.update(also)
    if names_only:
        _people_read_as(tables, NAMES_OF_PEOPLE)
    _keep({name: ({table: now.of(table, team) for table in tables}, value)})
    return value


def kept_for_teams(
    key: str,
    team_ids: list[int],
    work_out: Callable[[list[int]], dict[int, T]],
    *,
    also: Iterable[str] = (),
    now: Versions | None = None,
    names_unread: bool = False,
) -> dict[int, T]:
    """What `work_out(team_ids)` returns for each team, each team's kept with
    the versions, as that team sees them, of the tables read in working it
    out: only the teams a committed change reaches are worked out again,
    together, in one call. `now`: the versions (as these teams see them),
    when the caller has read them already. `names_unread`: the parts show no
    one's name, and are kept through a new name."""
    if not keeps():
        return work_out(team_ids)
    if now is None:
        now = versions(team_ids)
    if now.changed_here:
        return work_out(team_ids)
    names = {team: f"kept-team:{key}:{team}" for team in team_ids}
    found = _standing(names, lambda team, kept_under: now.still(kept_under, team))
    missing = [team for team in team_ids if team not in found]
    if missing:
        with tables_read() as tables:
            worked = work_out(missing)
        tables.update(also)
        if names_unread:
            _people_read_as(tables, PEOPLE_BUT_NAMES)
        _keep(
            {
                names[team]: ({table: now.of(table, team) for table in tables}, value)
                for team, value in worked.items()
            }
        )
        found.update(worked)
    return found


def _people_read_as(tables: set[str], version: str) -> None:
    """Where the people table was read, keep the part under that table's
    version `version` (NAMES_OF_PEOPLE or PEOPLE_BUT_NAMES) instead."""
    if PERSON_TABLE in tables:
        tables.discard(PERSON_TABLE)
        tables.add(version)


Entry = tuple[dict[str, int], Any]  # the versions a value was worked out from, and the value
K = TypeVar("K")


def _standing(names: dict[K, str], stands: Callable[[K, dict[str, int]], bool]) -> dict[K, Any]:
    """The values kept under these names whose versions still stand: from
    this process's memory, else from the database (then remembered here)."""
    found: dict[K, Any] = {}

    def take(entries: dict[str, Entry]) -> None:
        for key, name in names.items():
            entry = entries.get(name)
            if key not in found and entry is not None and stands(key, entry[0]):
                found[key] = entry[1]

    take(cache.get_many(names.values()))
    missing = [name for key, name in names.items() if key not in found]
    if missing:
        stored = _stored(missing)
        take(stored)
        cache.set_many(
            {names[key]: stored[names[key]] for key in found if names[key] in stored},
            KEEP_SECONDS,
        )
    return found


def _keep(entries: dict[str, Entry]) -> None:
    """Keep these entries in this process's memory and in the database."""
    cache.set_many(entries, KEEP_SECONDS)
    _store(entries)


# Kept in the database ------------------------------------------------------------------


def forget() -> None:
    """Throw every kept page and part away, here and in the database: every
    page is then worked out from the records (other processes still keep
    theirs in memory, each for at most KEEP_SECONDS)."""
    cache.clear()
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM caseload_keptpart")


@functools.cache
def release() -> str:
    """What identifies this release of the code and templates: a part kept by
    another release (its classes or markup may differ) is not used."""
    digest = hashlib.sha256()
    root = Path(settings.BASE_DIR)
    for path in sorted(
        path
        for folder in (*NOTED_APPS, "templates")
        for path in (root / folder).rglob("*")
        if path.suffix in (".py", ".html") and path.is_file()
    ):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def _packed(entry: Entry) -> bytes:
    """An entry pickled, and compressed (quickly) if it is large: the charts'
    markup shrinks tenfold; a team's position is not worth the time."""
    packed = pickle.dumps(entry, pickle.HIGHEST_PROTOCOL)
    return zlib.compress(packed, 1) if len(packed) > 4096 else packed


def _unpacked(packed: bytes) -> Entry:
    # A pickle starts with its protocol's opcode (0x80), a zlib stream with 0x78.
    if packed[:1] == b"\x78":
        packed = zlib.decompress(packed)
    return pickle.loads(packed)  # noqa: S301 - our own, written by _store


# What reading a part that is damaged, or pickled from classes since changed, raises.
_UNREADABLE = (
    zlib.error,
    pickle.UnpicklingError,
    EOFError,
    AttributeError,
    ImportError,
    TypeError,
    ValueError,
)


def _stored(names: list[str]) -> dict[str, Entry]:
    """The entries kept in the database under these names (by this release)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, entry FROM caseload_keptpart WHERE name = ANY(%s)",
            [[f"{release()}:{name}" for name in names]],
        )
        rows = cursor.fetchall()
    found = {}
    for name, entry in rows:
        try:
            found[name.partition(":")[2]] = _unpacked(bytes(entry))
        except _UNREADABLE:
            log.warning("A kept part could not be read: %s", name, exc_info=True)
    return found


_STORE = """
INSERT INTO caseload_keptpart (name, entry, kept_at)
SELECT name, entry, now() FROM unnest(%s::text[], %s::bytea[]) AS e(name, entry)
ON CONFLICT (name) DO UPDATE SET entry = EXCLUDED.entry, kept_at = EXCLUDED.kept_at
"""


def _store(entries: dict[str, Entry]) -> None:
    """Keep these entries in the database too, in place of any under the same
    names. A part that cannot be kept there is only worked out again later."""
    if not entries:
        return
    names = list(entries)
    stored_names = [f"{release()}:{name}" for name in names]
    pickles = [_packed(entries[name]) for name in names]
    # One statement: a transaction of its own, or a savepoint inside one (so
    # that a failure here leaves the caller's transaction usable).
    alone = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with alone, connection.cursor() as cursor:
            cursor.execute(_STORE, [stored_names, pickles])
    except DatabaseError:
        log.warning("Kept parts could not be kept in the database", exc_info=True)
