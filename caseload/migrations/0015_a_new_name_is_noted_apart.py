"""A person's new name is noted apart from the rest of their row, under a
table name of its own (ADR 0014, since superseded by ADR 0021): a page that shows people
counts it as a change to the people table, and each team's position on the
service overview, which shows no one's name, stands through it."""

from django.db import migrations

from caseload.migrations import _change_triggers as changes

# The function as migration 0014 made it: a new name noted as a change to
# every team's people.
NAME_WITH_THE_ROW = """
CREATE OR REPLACE FUNCTION caseload_note_caseload_person() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- (Only an update's trigger has both transition tables to compare.)
    IF TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (
            SELECT 1 FROM old_rows o LEFT JOIN new_rows n ON n.id = o.id
            WHERE n.id IS NULL
               OR n.full_name IS DISTINCT FROM o.full_name
               OR n.service_id IS DISTINCT FROM o.service_id
        ) THEN
            PERFORM caseload_note_teams(
                TG_TABLE_NAME, '{}'::bigint[], ARRAY(SELECT id FROM new_rows), '{}'::bigint[]
            );
            RETURN NULL;
        END IF;
    END IF;
    PERFORM caseload_note_table(TG_TABLE_NAME);
    RETURN NULL;
END;
$$
"""


def note_names_apart(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(changes.PERSON_FUNCTION)


def note_names_with_the_row(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(NAME_WITH_THE_ROW)


class Migration(migrations.Migration):
    dependencies = [("caseload", "0014_a_persons_own_row_names_their_teams")]

    operations = [migrations.RunPython(note_names_apart, note_names_with_the_row)]
