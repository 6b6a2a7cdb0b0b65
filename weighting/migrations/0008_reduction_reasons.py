"""Reduction reasons become each service's own list (docs/adr/0025).

Every service gets the five reasons Caseload offered until now, and each
reduction (and each row of its history) points at its person's service's
row for the code it had. A person with no service takes the service of the
team they were last in, or else the first service: the reason keeps its
name either way. The rule that reductions for one reason do not overlap
moves to the new column, on PostgreSQL as before."""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.functions.text
import simple_history.models
from django.conf import settings
from django.db import migrations, models

from caseload.db import PostgreSQLOnly, exclusion_constraint

# The codes the reason column held, and the names the list gives them.
NAMES = {
    "practice_educator": "Practice educator",
    "union_duties": "Trade union duties",
    "training": "Training",
    "phased_return": "Phased return to work",
    "other": "Other protected time",
}
# weighting.defaults.DEFAULT_REDUCTION_REASONS as this migration writes them:
# name: (default hours a week, default percentage, maximum weeks).
DEFAULTS = {
    "Practice educator": (Decimal("3.7"), None, None),
    "Trade union duties": (None, None, None),
    "Training": (None, None, None),
    "Phased return to work": (None, Decimal("50"), 12),
    "Other protected time": (None, None, None),
}
OTHER = "other"


def _service_of_each_person(apps) -> tuple[dict[int, int | None], int | None]:
    """The service whose list names a person's reductions: their own, else
    the service of the team they were last in, else the first service (also
    the one for history rows of someone no longer recorded)."""
    person_model = apps.get_model("caseload", "Person")
    membership_model = apps.get_model("caseload", "TeamMembership")
    service_model = apps.get_model("caseload", "Service")
    first_service = service_model.objects.order_by("pk").values_list("pk", flat=True).first()
    last_team_service = {}
    for person_id, service_id in membership_model.objects.order_by(
        "start_date", "pk"
    ).values_list("person_id", "team__service_id"):
        last_team_service[person_id] = service_id
    return {
        person_id: service_id or last_team_service.get(person_id) or first_service
        for person_id, service_id in person_model.objects.values_list("pk", "service_id")
    }, first_service


def to_the_lists(apps, schema_editor):
    service_model = apps.get_model("caseload", "Service")
    reason_model = apps.get_model("weighting", "ReductionReason")
    reason_model.objects.bulk_create(
        reason_model(
            service_id=service_id,
            name=name,
            default_hours_per_week=hours,
            default_percentage=percentage,
            maximum_weeks=weeks,
        )
        for service_id in service_model.objects.values_list("pk", flat=True)
        for name, (hours, percentage, weeks) in DEFAULTS.items()
    )
    reason_of = {
        (service_id, name): pk
        for pk, service_id, name in reason_model.objects.values_list("pk", "service_id", "name")
    }
    service_of, first_service = _service_of_each_person(apps)
    for model_name in ("Reduction", "HistoricalReduction"):
        model = apps.get_model("weighting", model_name)
        wanted: dict[int, list[int]] = {}
        for pk, person_id, code in model.objects.values_list("pk", "person_id", "reason_code"):
            service_id = service_of.get(person_id, first_service)
            if service_id is None:
                raise RuntimeError(
                    f"{model_name} {pk} belongs to a person with no service, and there is no "
                    "service whose list could name its reason: add a service first."
                )
            name = NAMES.get(code, NAMES[OTHER])
            wanted.setdefault(reason_of[(service_id, name)], []).append(pk)
        for reason_id, pks in wanted.items():
            for start in range(0, len(pks), 500):
                model.objects.filter(pk__in=pks[start : start + 500]).update(reason_id=reason_id)


def to_the_codes(apps, schema_editor):
    codes = {name: code for code, name in NAMES.items()}
    reason_model = apps.get_model("weighting", "ReductionReason")
    for model_name in ("Reduction", "HistoricalReduction"):
        model = apps.get_model("weighting", model_name)
        for reason_id, name in reason_model.objects.values_list("pk", "name"):
            model.objects.filter(reason_id=reason_id).update(
                reason_code=codes.get(name, OTHER)  # a service's own reason was "other" time
            )


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0025_service_full_time_hours"),
        ("weighting", "0007_history_of_experience_factors_and_reductions"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ReductionReason",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=60)),
                ("default_hours_per_week", models.DecimalField(blank=True, decimal_places=2, help_text="Taken when a reduction gives no size. Hours or a percentage, not both.", max_digits=4, null=True)),
                ("default_percentage", models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name="default percentage of their hours")),
                ("maximum_hours_per_week", models.DecimalField(blank=True, decimal_places=2, help_text="The most a reduction for this reason may take, in hours a week or as a percentage of the person's hours (not both); empty for no limit.", max_digits=4, null=True)),
                ("maximum_percentage", models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name="maximum percentage of their hours")),
                ("maximum_weeks", models.PositiveSmallIntegerField(blank=True, help_text="The longest a reduction for this reason may last; one given no end date ends after this many weeks. Empty for no limit.", null=True)),
                ("reminder_days", models.PositiveSmallIntegerField(default=14, help_text="Days before a reduction ends that the person's team managers are emailed.")),
                ("active", models.BooleanField(default=True, help_text="Offered for new reductions. Untick to stop offering it: old ones keep it.")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("service", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="reduction_reasons", to="caseload.service")),
            ],
            options={"ordering": ["service", "name"]},
        ),
        migrations.CreateModel(
            name="HistoricalReductionReason",
            fields=[
                ("id", models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name="ID")),
                ("name", models.CharField(max_length=60)),
                ("default_hours_per_week", models.DecimalField(blank=True, decimal_places=2, help_text="Taken when a reduction gives no size. Hours or a percentage, not both.", max_digits=4, null=True)),
                ("default_percentage", models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name="default percentage of their hours")),
                ("maximum_hours_per_week", models.DecimalField(blank=True, decimal_places=2, help_text="The most a reduction for this reason may take, in hours a week or as a percentage of the person's hours (not both); empty for no limit.", max_digits=4, null=True)),
                ("maximum_percentage", models.DecimalField(blank=True, decimal_places=2, max_digits=5, null=True, verbose_name="maximum percentage of their hours")),
                ("maximum_weeks", models.PositiveSmallIntegerField(blank=True, help_text="The longest a reduction for this reason may last; one given no end date ends after this many weeks. Empty for no limit.", null=True)),
                ("reminder_days", models.PositiveSmallIntegerField(default=14, help_text="Days before a reduction ends that the person's team managers are emailed.")),
                ("active", models.BooleanField(default=True, help_text="Offered for new reductions. Untick to stop offering it: old ones keep it.")),
                ("created_at", models.DateTimeField(blank=True, editable=False)),
                ("updated_at", models.DateTimeField(blank=True, editable=False)),
                ("history_id", models.AutoField(primary_key=True, serialize=False)),
                ("history_date", models.DateTimeField(db_index=True)),
                ("history_change_reason", models.CharField(max_length=100, null=True)),
                ("history_type", models.CharField(choices=[("+", "Created"), ("~", "Changed"), ("-", "Deleted")], max_length=1)),
                ("history_user", models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("service", models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="caseload.service")),
            ],
            options={
                "verbose_name": "historical reduction reason",
                "verbose_name_plural": "historical reduction reasons",
                "ordering": ("-history_date", "-history_id"),
                "get_latest_by": ("history_date", "history_id"),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower("name"), models.F("service"), name="reduction_reason_name_unique_per_service", violation_error_message="The service already has a reason with this name."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("default_hours_per_week__isnull", True), ("default_percentage__isnull", True), _connector="OR"), name="reduction_reason_one_default", violation_error_message="Give a default in hours a week or a percentage, not both."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("maximum_hours_per_week__isnull", True), ("maximum_percentage__isnull", True), _connector="OR"), name="reduction_reason_one_maximum", violation_error_message="Give a maximum in hours a week or a percentage, not both."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(models.Q(("default_hours_per_week__isnull", True), models.Q(("default_hours_per_week__gt", 0), ("default_hours_per_week__lte", 37)), _connector="OR"), models.Q(("maximum_hours_per_week__isnull", True), models.Q(("maximum_hours_per_week__gt", 0), ("maximum_hours_per_week__lte", 37)), _connector="OR")), name="reduction_reason_hours_in_range", violation_error_message="Hours a week are more than 0 and no more than 37."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(models.Q(("default_percentage__isnull", True), models.Q(("default_percentage__gt", 0), ("default_percentage__lte", 100)), _connector="OR"), models.Q(("maximum_percentage__isnull", True), models.Q(("maximum_percentage__gt", 0), ("maximum_percentage__lte", 100)), _connector="OR")), name="reduction_reason_percentage_in_range", violation_error_message="A percentage is more than 0 and no more than 100."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("default_hours_per_week__isnull", True), ("maximum_hours_per_week__isnull", True), ("default_hours_per_week__lte", models.F("maximum_hours_per_week")), _connector="OR"), name="reduction_reason_default_hours_within_maximum", violation_error_message="The default hours a week are above the maximum."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("default_percentage__isnull", True), ("maximum_percentage__isnull", True), ("default_percentage__lte", models.F("maximum_percentage")), _connector="OR"), name="reduction_reason_default_percentage_within_maximum", violation_error_message="The default percentage is above the maximum."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("maximum_weeks__isnull", True), models.Q(("maximum_weeks__gte", 1), ("maximum_weeks__lte", 520)), _connector="OR"), name="reduction_reason_maximum_weeks_in_range", violation_error_message="The maximum length is from 1 to 520 weeks (ten years)."),
        ),
        migrations.AddConstraint(
            model_name="reductionreason",
            constraint=models.CheckConstraint(condition=models.Q(("reminder_days__gte", 1), ("reminder_days__lte", 365)), name="reduction_reason_reminder_days_in_range", violation_error_message="The reminder is from 1 to 365 days before the end."),
        ),
        # The reason's code makes way for the row of the service's list.
        migrations.RemoveConstraint(model_name="reduction", name="reduction_reason_valid"),
        migrations.RemoveConstraint(model_name="reduction", name="one_open_reduction_per_reason"),
        PostgreSQLOnly(
            "ALTER TABLE weighting_reduction "
            "DROP CONSTRAINT reduction_periods_do_not_overlap_per_reason;",
            reverse_sql=(
                "ALTER TABLE weighting_reduction ADD CONSTRAINT "
                "reduction_periods_do_not_overlap_per_reason EXCLUDE USING gist (person_id WITH =, "
                "reason WITH =, daterange(start_date, end_date, '[)') WITH &&);"
            ),
        ),
        migrations.RenameField(model_name="reduction", old_name="reason", new_name="reason_code"),
        migrations.RenameField(
            model_name="historicalreduction", old_name="reason", new_name="reason_code"
        ),
        migrations.AddField(
            model_name="reduction",
            name="reason",
            field=models.ForeignKey(null=True, on_delete=django.db.models.deletion.PROTECT, related_name="reductions", to="weighting.reductionreason"),
        ),
        migrations.AddField(
            model_name="historicalreduction",
            name="reason",
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name="+", to="weighting.reductionreason"),
        ),
        migrations.RunPython(to_the_lists, to_the_codes),
        # Going back, the code column comes back filled (then set from the reasons).
        migrations.AlterField(
            model_name="reduction",
            name="reason_code",
            field=models.CharField(default=OTHER, max_length=20),
        ),
        migrations.AlterField(
            model_name="historicalreduction",
            name="reason_code",
            field=models.CharField(default=OTHER, max_length=20),
        ),
        migrations.RemoveField(model_name="reduction", name="reason_code"),
        migrations.RemoveField(model_name="historicalreduction", name="reason_code"),
        migrations.AlterField(
            model_name="reduction",
            name="reason",
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="reductions", to="weighting.reductionreason"),
        ),
        migrations.AddConstraint(
            model_name="reduction",
            constraint=models.UniqueConstraint(condition=models.Q(("end_date__isnull", True)), fields=("person", "reason"), name="one_open_reduction_per_reason"),
        ),
        exclusion_constraint(
            "weighting_reduction",
            "reduction_periods_do_not_overlap_per_reason",
            "person_id WITH =, reason_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        ),
    ]
