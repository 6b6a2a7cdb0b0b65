"""Change records that say which table changed and, for the changes a team's
numbers today turn on (allocations, ratings, cases), which teams: cached parts
of a page are then thrown away only by the changes that affect them
(ADR 0014, since superseded by ADR 0021). Notes written before this say neither, and
count as a change to every table and every team."""

from django.db import migrations, models

from caseload.migrations._change_triggers import note_changes_to, scope_changes_to, unscope_changes_to


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
    scope_changes_to(schema_editor, TABLES)


def unscope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    unscope_changes_to(schema_editor, TABLES)
    schema_editor.execute("ALTER TABLE caseload_datachange DROP COLUMN teams")
    schema_editor.execute(
        "CREATE OR REPLACE FUNCTION caseload_note_change() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "IF current_setting('caseload.change_noted', true) IS DISTINCT FROM '1' THEN "
        "INSERT INTO caseload_datachange (weight) VALUES (1); "
        "PERFORM set_config('caseload.change_noted', '1', true); END IF; RETURN NULL; END; $$"
    )


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
