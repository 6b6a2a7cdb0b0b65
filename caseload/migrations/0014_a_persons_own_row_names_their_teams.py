"""A change to a person's own row names the teams they are or were in, unless
it changes their name or their service (ADR 0014, since superseded by ADR 0021): a new
FTE computes again that person's teams on the service overview and their
team pages, not every team of every service."""

from django.db import migrations

from caseload.migrations._change_triggers import PERSON_TABLE, scope_changes_to, unscope_changes_to


def scope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        scope_changes_to(schema_editor, [PERSON_TABLE])


def unscope(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        unscope_changes_to(schema_editor, [PERSON_TABLE])
        schema_editor.execute("DROP FUNCTION IF EXISTS caseload_note_caseload_person()")


class Migration(migrations.Migration):
    dependencies = [("caseload", "0013_decisions_name_their_team")]

    operations = [migrations.RunPython(scope, unscope)]
