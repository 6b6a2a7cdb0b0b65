"""The PostgreSQL change triggers of releases before migration 0022, frozen
here for the migrations that made them (caseload 0010-0019, weighting 0007,
reports 0004 and 0005) and for 0022's way back.

Those releases cached computed pages: a statement trigger on every table of
our apps inserted a row into `caseload_datachange` (naming the table and, for
the tables a team's numbers turn on, the teams the change affected), and a
cached page stood only while those rows were unchanged. Migration 0022
drops the triggers, their functions and the tables; see ADR 0021.

Nothing outside the migrations may import this module, and it must not
change: the migrations have to build the same database they always did.
(Its name starts with an underscore, so Django does not take it for a
migration.)
"""

from __future__ import annotations

from collections.abc import Iterable

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

# The changes a team's numbers today turn on, recorded with the teams they affect:
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
# new or deleted person affect every team; their hours, role, supervisor or
# ASYE start affect the teams they are or were in. A new name is recorded
# apart, under a table name of its own and naming no team.
PERSON_TABLE = "caseload_person"

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
        # Emptying a table affects every team (and names no rows).
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
    """Give each table the trigger that records its changes (PostgreSQL
    only: SQLite never had the triggers)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    if function:
        schema_editor.execute(_POSTGRES_FUNCTION)
    for table in tables:
        # After the statement, not per row: a bulk import writes one row.
        schema_editor.execute(
            f"CREATE TRIGGER caseload_note_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
            f"ON {schema_editor.quote_name(table)} "
            "FOR EACH STATEMENT EXECUTE FUNCTION caseload_note_change()"
        )


def scope_changes_to(schema_editor, tables: Iterable[str]) -> None:  # type: ignore[no-untyped-def]
    """Give each table, in place of its plain trigger, the triggers that name
    the teams its changes affect (with the functions they call). For
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
    """Undo `note_changes_to` for these tables."""
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in tables:
        name = schema_editor.quote_name(table)
        schema_editor.execute(f"DROP TRIGGER IF EXISTS caseload_note_change ON {name}")
