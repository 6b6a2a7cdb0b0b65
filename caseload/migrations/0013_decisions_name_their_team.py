"""DMT's decisions name the team they are about (ADR 0014, since superseded by ADR 0021):
a decision recorded in a meeting computes again that team's position on
the service overview, not every team's. The functions that name teams are
written again too: they read the rows a statement changed as a set, so a
bulk write no longer compares every row of a table with every id."""

from django.db import migrations

from caseload.migrations._change_triggers import scope_changes_to, unscope_changes_to

TABLE = "reports_dmtdecision"


def scope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        scope_changes_to(schema_editor, [TABLE])


def unscope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        unscope_changes_to(schema_editor, [TABLE])


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0012_kept_parts_in_the_database"),
        ("reports", "0003_team_day_totals"),
    ]

    operations = [migrations.RunPython(scope, unscope)]
