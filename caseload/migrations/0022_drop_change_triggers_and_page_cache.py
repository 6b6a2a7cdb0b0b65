"""No cache of computed numbers (ADR 0021): drop the PostgreSQL triggers that
recorded every change to our apps' tables (`caseload_note_*`), the functions
they called, the table they wrote (`caseload_datachange`) and the table of
cached page parts (`caseload_keptpart`). Both tables held only derived,
short-lived data: no record is lost.

Forwards, on PostgreSQL, every trigger and function named `caseload_note_*`
goes, whichever migration made it; on SQLite, which never had them, only the
two tables go.

Backwards recreates the two tables empty and, on PostgreSQL, the triggers
and functions exactly as the last release before this one had them: that
release then runs with an empty cache, and computes every page afresh until
it has cached it again.
"""

from django.db import migrations, models

from caseload.migrations._change_triggers import (
    CASE_SCOPED_TABLES,
    PERSON_SCOPED_TABLES,
    PERSON_TABLE,
    TEAM_SCOPED_TABLES,
    note_changes_to,
    scope_changes_to,
)

# The tables whose trigger named the teams a change affected ...
SCOPED_TABLES = [*CASE_SCOPED_TABLES, *PERSON_SCOPED_TABLES, *TEAM_SCOPED_TABLES, PERSON_TABLE]
# ... and those whose trigger named only the table: with the ones above,
# every table of our apps at migration 0021 but the two dropped here and the
# access audit.
PLAIN_TABLES = [
    "caseload_caseteammove",
    "caseload_formsubmission",
    "caseload_historicalallocation",
    "caseload_historicalcase",
    "caseload_historicalgroup",
    "caseload_historicalgroup_permissions",
    "caseload_historicalperson",
    "caseload_historicalservice",
    "caseload_historicalteam",
    "caseload_historicalteam_managers",
    "caseload_historicalteammembership",
    "caseload_historicaluser",
    "caseload_historicaluser_groups",
    "caseload_historicaluser_user_permissions",
    "caseload_importrun",
    "caseload_notification",
    "caseload_overmaximumreview",
    "caseload_service",
    "caseload_superuserrequest",
    "caseload_team_managers",
    "reports_capacityissue",
    "reports_caseloadanalysis",
    "reports_caseloadsnapshot",
    "reports_dailyrun",
    "reports_quarterlyreview",
    "reports_quarterlyteamrow",
    "reports_snapshotbackfill",
    "reports_snapshotrecompute",
    "reports_teamday",
    "supervision_proposallevel",
    "supervision_ratingproposal",
    "supervision_supervisionaddendum",
    "supervision_supervisioncaseitem",
    "supervision_workloadview",
    "weighting_criterion",
    "weighting_historicalcriterion",
    "weighting_historicalexperiencefactor",
    "weighting_historicallevel",
    "weighting_historicalreduction",
    "weighting_historicalscheme",
    "weighting_level",
    "weighting_ratinglevel",
    "weighting_scheme",
]

TRIGGERS = r"""
SELECT format('DROP TRIGGER %I ON %I', t.tgname, c.relname)
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
WHERE t.tgname LIKE 'caseload\_note\_%' AND NOT t.tgisinternal
  AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""
FUNCTIONS = r"""
SELECT format('DROP FUNCTION %s', p.oid::regprocedure)
FROM pg_proc p
WHERE p.proname LIKE 'caseload\_note\_%' AND p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
"""


def drop_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    for query in (TRIGGERS, FUNCTIONS):  # the functions once no trigger calls them
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(query)
            statements = [row[0] for row in cursor.fetchall()]
        for statement in statements:
            schema_editor.execute(statement)


def recreate_triggers(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor != "postgresql":
        return
    # The column migration 0011 added outside the model, PostgreSQL only.
    schema_editor.execute("ALTER TABLE caseload_datachange ADD COLUMN teams bigint[]")
    note_changes_to(schema_editor, [*PLAIN_TABLES, *SCOPED_TABLES])
    scope_changes_to(schema_editor, SCOPED_TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0021_import_runs_may_invite"),
        # Every app whose migrations gave a table a trigger.
        ("reports", "0005_snapshot_backfills"),
        ("supervision", "0002_analysis"),
        ("weighting", "0007_history_of_experience_factors_and_reductions"),
    ]

    operations = [
        migrations.RunPython(drop_triggers, recreate_triggers),
        migrations.DeleteModel(name="KeptPart"),
        migrations.DeleteModel(name="DataChange"),
    ]
