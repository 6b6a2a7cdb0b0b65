"""On PostgreSQL, forbid overlapping periods in dated history (docs/adr/0002).

The partial unique indexes of 0001 guard the *open* rows on every database.
These exclusion constraints also guard back-dated rows: no two primary
allocations of a case, and no two team memberships of a person, may cover the
same day. SQLite has no equivalent; there the write functions check overlaps.
"""

from django.db import migrations

from caseload.db import PostgreSQLOnly, exclusion_constraint

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


class Migration(migrations.Migration):
    dependencies = [("caseload", "0001_initial")]

    operations = [
        PostgreSQLOnly(
            "CREATE EXTENSION IF NOT EXISTS btree_gist;",
            reverse_sql=migrations.RunSQL.noop,
        ),
        *[exclusion_constraint(*constraint) for constraint in CONSTRAINTS],
    ]
