"""Database helpers shared by migrations."""

from django.db import migrations


class PostgreSQLOnly(migrations.RunSQL):
    """SQL that runs on PostgreSQL and is skipped on other databases (docs/adr/0002)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


def exclusion_constraint(table: str, name: str, spec: str, where: str = "") -> PostgreSQLOnly:
    """Forbid overlapping rows of a dated record on PostgreSQL."""
    return PostgreSQLOnly(
        f"ALTER TABLE {table} ADD CONSTRAINT {name} EXCLUDE USING gist ({spec}) {where};",
        reverse_sql=f"ALTER TABLE {table} DROP CONSTRAINT {name};",
    )
