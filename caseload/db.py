"""Database helpers: for migrations, and for queries over many ids."""

from collections.abc import Collection

from django.db import connection, migrations
from django.db.models.expressions import RawSQL


def among(ids: Collection[int]) -> list[int] | RawSQL:
    """The right-hand side of an `__in` filter over many ids (a service's
    people): on PostgreSQL one array, unnested by the database, rather than a
    placeholder per id that Django prepares and PostgreSQL parses one by one
    (600 ids: 1–2.5 ms less a query)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT unnest(%s::bigint[])", [list(ids)])
    return list(ids)


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
