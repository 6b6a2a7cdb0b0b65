"""The change records behind cached pages: a table, and a trigger on every table
of our apps that there is at this point (note_changes_to, caseload/migrations/_change_triggers.py).
A migration that adds a table to these apps gives it the trigger too."""

from django.db import migrations, models

from caseload.migrations._change_triggers import forget_changes_to, note_changes_to

TABLES = [
    "caseload_historicalservice",
    "caseload_service",
    "caseload_team_managers",
    "caseload_historicalteam",
    "caseload_historicalteam_managers",
    "caseload_team",
    "caseload_historicalperson",
    "caseload_person",
    "caseload_teammembership",
    "caseload_case",
    "caseload_allocation",
    "caseload_overmaximum",
    "caseload_overmaximumreview",
    "caseload_caseteammove",
    "caseload_notification",
    "caseload_importrun",
    "weighting_historicalscheme",
    "weighting_scheme",
    "weighting_historicalcriterion",
    "weighting_criterion",
    "weighting_historicallevel",
    "weighting_level",
    "weighting_rating",
    "weighting_ratinglevel",
    "weighting_experiencefactor",
    "weighting_reduction",
    "supervision_workloadview",
    "supervision_ratingproposal",
    "supervision_proposallevel",
    "supervision_workloadconcern",
    "supervision_supervisionrecord",
    "supervision_supervisioncaseitem",
    "supervision_supervisionaddendum",
    "reports_caseloadsnapshot",
    "reports_teamday",
    "reports_snapshotrecompute",
    "reports_caseloadanalysis",
    "reports_escalation",
    "reports_quarterlyreview",
    "reports_quarterlyteamrow",
    "reports_capacityissue",
    "reports_dmtdecision",
]


def note(apps, schema_editor):  # type: ignore[no-untyped-def]
    note_changes_to(schema_editor, TABLES)


def forget(apps, schema_editor):  # type: ignore[no-untyped-def]
    forget_changes_to(schema_editor, TABLES)


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0009_change_history"),
        ("weighting", "0006_rating_latest_per_case"),
        ("supervision", "0002_analysis"),
        ("reports", "0003_team_day_totals"),
    ]

    operations = [
        migrations.CreateModel(
            name="DataChange",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("weight", models.PositiveBigIntegerField(default=1)),
            ],
            options={"db_table": "caseload_datachange"},
        ),
        migrations.RunPython(note, forget),
    ]
