"""A backup restores whole: `pg_dump --format=custom` of a database holding a
small team and its quarterly review, restored with `pg_restore` into a new
database, gives every table of the public schema back with the same rows
(docs/backup-and-restore.md)."""

import os
import shutil
import subprocess
import uuid

import psycopg2
import pytest
from django.db import connection
from psycopg2 import sql

from reports.services.reviews import quarterly_review
from tests.conftest import skip_or_fail
from tests.scenarios import QUARTER, build_small_team

CLIENTS = ("pg_dump", "pg_restore", "createdb", "dropdb")


def libpq_environment() -> dict[str, str]:
    """The test database's connection, as the PostgreSQL client programs read it."""
    settings = connection.settings_dict
    environment = dict(os.environ)
    for variable, key in [
        ("PGHOST", "HOST"),
        ("PGPORT", "PORT"),
        ("PGUSER", "USER"),
        ("PGPASSWORD", "PASSWORD"),
    ]:
        if settings.get(key):
            environment[variable] = str(settings[key])
    return environment


def run(*command: str) -> None:
    done = subprocess.run(command, env=libpq_environment(), capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"


def contents(database: str) -> dict[str, object]:
    """Each table's row count and checksum of its rows, each sequence's
    position, and the names of the schema's constraints, indexes and triggers."""
    settings = connection.settings_dict
    with (
        psycopg2.connect(
            dbname=database,
            host=settings.get("HOST") or None,
            port=settings.get("PORT") or None,
            user=settings.get("USER") or None,
            password=settings.get("PASSWORD") or None,
        ) as db,
        db.cursor() as cursor,
    ):
        # Row text depends on these: the same in both sessions.
        cursor.execute("SET TimeZone TO 'UTC'; SET extra_float_digits TO 3")
        cursor.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        tables = {}
        for (table,) in cursor.fetchall():
            cursor.execute(
                sql.SQL(
                    "SELECT count(*), md5(string_agg(t::text, '|' ORDER BY t::text)) FROM {} t"
                ).format(sql.Identifier("public", table))
            )
            tables[table] = cursor.fetchone()
        cursor.execute(
            "SELECT sequencename, last_value FROM pg_sequences"
            " WHERE schemaname = 'public' ORDER BY sequencename"
        )
        sequences = dict(cursor.fetchall())
        cursor.execute(
            "SELECT conrelid::regclass::text || ' ' || conname FROM pg_constraint"
            " WHERE connamespace = 'public'::regnamespace"
            " UNION ALL SELECT tablename || ' ' || indexname FROM pg_indexes"
            " WHERE schemaname = 'public'"
            " UNION ALL SELECT tgrelid::regclass::text || ' ' || tgname FROM pg_trigger"
            " WHERE NOT tgisinternal AND tgrelid IN"
            " (SELECT oid FROM pg_class WHERE relnamespace = 'public'::regnamespace)"
        )
        schema = sorted(name for (name,) in cursor.fetchall())
    db.close()
    return {"tables": tables, "sequences": sequences, "schema": schema}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_custom_format_dump_restores_every_table_row_for_row(
    service, default_scheme, team, other_team, team_manager, dmt_member, tmp_path
):
    missing = [client for client in CLIENTS if shutil.which(client) is None]
    if missing:
        skip_or_fail(f"needs the PostgreSQL client programs {', '.join(missing)} on PATH")
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    review = quarterly_review(service, QUARTER)
    assert review.pk is not None

    source = connection.settings_dict["NAME"]
    dump = tmp_path / "caseload.dump"
    restored = f"{source}_restore_{uuid.uuid4().hex[:8]}"
    run("pg_dump", "--format=custom", f"--file={dump}", f"--dbname={source}")
    try:
        run("createdb", "--template=template0", restored)
        run(
            "pg_restore",
            "--no-owner",
            "--clean",
            "--if-exists",
            "--exit-on-error",
            f"--dbname={restored}",
            str(dump),
        )
        before, after = contents(source), contents(restored)
    finally:
        run("dropdb", "--if-exists", "--force", restored)

    tables = before["tables"]
    rows = sum(count for count, _ in tables.values())
    matching = sum(after["tables"].get(table) == figures for table, figures in tables.items())
    print(
        f"\nbackup: {len(tables)} tables, {rows} rows, {matching} checksums match;"
        f" {len(before['sequences'])} sequences,"
        f" {len(before['schema'])} constraints, indexes and triggers"
    )
    assert rows > 0
    assert tables["reports_quarterlyreview"][0] == 1
    differing = sorted(
        table
        for table in tables.keys() | after["tables"].keys()
        if after["tables"].get(table) != tables.get(table)
    )
    assert not differing, f"tables that differ after the restore: {differing}"
    assert after["sequences"] == before["sequences"]
    assert after["schema"] == before["schema"]
