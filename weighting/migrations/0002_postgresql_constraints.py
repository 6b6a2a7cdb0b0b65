"""On PostgreSQL: a rating's level (and anticipated level) must belong to the
criterion it rates, and dated capacity records may not overlap (docs/adr/0002).
Every database already refuses a level that does not exist on any scale."""

from django.db import migrations

from caseload.db import PostgreSQLOnly, exclusion_constraint


def same_criterion(column: str, name: str) -> PostgreSQLOnly:
    return PostgreSQLOnly(
        f"ALTER TABLE weighting_ratinglevel ADD CONSTRAINT {name} "
        f"FOREIGN KEY ({column}, criterion_id) REFERENCES weighting_level (id, criterion_id) "
        "DEFERRABLE INITIALLY DEFERRED;",
        reverse_sql=f"ALTER TABLE weighting_ratinglevel DROP CONSTRAINT {name};",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("weighting", "0001_initial"),
        ("caseload", "0002_postgresql_exclusion_constraints"),
    ]

    operations = [
        same_criterion("level_id", "rating_level_on_its_criterion"),
        same_criterion("anticipated_level_id", "anticipated_level_on_its_criterion"),
        exclusion_constraint(
            "weighting_experiencefactor",
            "experience_factor_periods_do_not_overlap",
            "person_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        ),
        exclusion_constraint(
            "weighting_reduction",
            "reduction_periods_do_not_overlap_per_reason",
            "person_id WITH =, reason WITH =, daterange(start_date, end_date, '[)') WITH &&",
        ),
    ]
