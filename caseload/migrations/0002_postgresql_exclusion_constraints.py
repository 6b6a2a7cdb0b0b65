"""On PostgreSQL, forbid overlapping periods in dated history (docs/adr/0002).

The partial unique indexes of 0001 guard the *open* rows on every database.
These exclusion constraints also guard back-dated rows: no two primary
allocations of a case, and no two team memberships of a person, may cover the
same day. SQLite has no equivalent; there the write functions check overlaps.
"""

from django.db import migrations

CONSTRAINTS = [
    (
        "caseload_allocation",
        "allocation_primary_periods_do_not_overlap",
        "case_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        "WHERE (kind = 'primary')",
    ),
    (
        "caseload_teammembership",
        "membership_periods_do_not_overlap",
        "person_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        "",
    ),
]


class PostgreSQLOnly(migrations.RunSQL):
    """SQL that runs on PostgreSQL and is skipped on other databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):
    dependencies = [("caseload", "0001_initial")]

    operations = [
        PostgreSQLOnly(
            "CREATE EXTENSION IF NOT EXISTS btree_gist;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        *[
            PostgreSQLOnly(
                f"ALTER TABLE {table} ADD CONSTRAINT {name} EXCLUDE USING gist ({spec}) {where};",
                reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name};",
            )
            for table, name, spec, where in CONSTRAINTS
        ],
    ]
