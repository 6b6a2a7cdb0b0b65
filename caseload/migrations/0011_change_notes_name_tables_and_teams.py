"""Change notes that say which table changed and, for the changes a team's
numbers today turn on (allocations, ratings, cases), which teams: kept parts
of a page are then thrown away only by the changes that reach them
(caseload.changes, ADR 0014). Notes written before this say neither, and
count as a change to every table and every team."""

from django.db import migrations, models

from caseload.changes import (
    SCOPED_FUNCTIONS,
    TRIGGERS_OF_SCOPED_TABLES,
    note_changes_to,
)


# The tables this migration scoped (later migrations scope more).
TABLES = (
    "caseload_allocation",
    "caseload_case",
    "weighting_rating",
    "caseload_overmaximum",
    "reports_escalation",
    "supervision_supervisionrecord",
    "supervision_workloadconcern",
    "weighting_experiencefactor",
    "weighting_reduction",
    "caseload_teammembership",
    "caseload_team",
)


def scope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("ALTER TABLE caseload_datachange ADD COLUMN teams bigint[]")
    note_changes_to(schema_editor, [])  # the function that now names the table
    for function in SCOPED_FUNCTIONS:
        schema_editor.execute(function)
    for table in TABLES:
        name = schema_editor.quote_name(table)
        schema_editor.execute(f"DROP TRIGGER caseload_note_change ON {name}")
        for trigger in TRIGGERS_OF_SCOPED_TABLES[table]:
            schema_editor.execute(trigger)


def unscope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        name = schema_editor.quote_name(table)
        for event in ("insert", "update", "delete", "truncate"):
            schema_editor.execute(f"DROP TRIGGER IF EXISTS caseload_note_{event} ON {name}")
    schema_editor.execute("ALTER TABLE caseload_datachange DROP COLUMN teams")
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION caseload_note_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF current_setting('caseload.change_noted', true) IS DISTINCT FROM '1' THEN "
        "INSERT INTO caseload_datachange (weight) VALUES (1); "
        "PERFORM set_config('caseload.change_noted', '1', true); END IF; RETURN NULL; END; $$"
    )
    note_changes_to(schema_editor, TABLES, function=False)


class Migration(migrations.Migration):
    dependencies = [("caseload", "0010_data_changes")]

    operations = [
        migrations.AddField(
            model_name="datachange",
            name="table_name",
            field=models.CharField(max_length=63, null=True),
        ),
        migrations.RunPython(scope, unscope),
    ]
