"""DMT's decisions name the team they are about (caseload.changes, ADR 0014):
a decision recorded in a meeting works out again that team's position on
the service overview, not every team's. The functions that name teams are
written again too: they read the rows a statement changed as a set, so a
bulk write no longer compares every row of a table with every id."""

from django.db import migrations

from caseload.changes import SCOPED_FUNCTIONS, TRIGGERS_OF_SCOPED_TABLES, note_changes_to

TABLE = "reports_dmtdecision"


def scope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for function in SCOPED_FUNCTIONS:
        schema_editor.execute(function)
    schema_editor.execute(f"DROP TRIGGER caseload_note_change ON {TABLE}")
    for trigger in TRIGGERS_OF_SCOPED_TABLES[TABLE]:
        schema_editor.execute(trigger)


def unscope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for event in ("insert", "update", "delete", "truncate"):
        schema_editor.execute(f"DROP TRIGGER caseload_note_{event} ON {TABLE}")
    note_changes_to(schema_editor, [TABLE], function=False)


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0012_kept_parts_in_the_database"),
        ("reports", "0003_team_day_totals"),
    ]

    operations = [migrations.RunPython(scope, unscope)]
