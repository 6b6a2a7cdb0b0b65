"""Paused cases (docs/adr/0033): each service's list of reasons for pausing
a case, with the three defaults given to every service already recorded;
the pauses themselves, one at a time per case (on PostgreSQL no two
overlap, ended ones included); the record that the team managers were told
a pause reached its longest length; and administrators keep the list as they
keep the reasons for protected time."""

from decimal import Decimal

import django.db.models.deletion
import django.db.models.functions.text
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

from caseload.db import exclusion_constraint

# weighting.defaults.DEFAULT_PAUSE_REASONS as this migration writes them.
DEFAULTS = [
    ("Awaiting closure", Decimal("0.5"), 8),
    ("Child in hospital", Decimal("0.5"), 12),
    ("On hold", Decimal("0.25"), 12),
]
ADMINISTRATORS = "Administrators"
CODENAMES = ["view_pausereason", "add_pausereason", "change_pausereason"]


def give_defaults(apps, schema_editor):
    reason_model = apps.get_model("weighting", "PauseReason")
    reason_model.objects.bulk_create(
        reason_model(service_id=service_id, name=name, factor=factor, maximum_weeks=weeks)
        for service_id in apps.get_model("caseload", "Service").objects.values_list("pk", flat=True)
        for name, factor, weeks in DEFAULTS
    )


def grant(apps, schema_editor):
    # Permissions are otherwise made after every migration has run: make them now.
    app_config = apps.get_app_config("weighting")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).first()
    if group is None:
        return  # made with every permission when it is first needed (caseload.accounts)
    group.permissions.add(
        *apps.get_model("auth", "Permission").objects.filter(
            content_type__app_label="weighting", codename__in=CODENAMES
        )
    )


class Migration(migrations.Migration):

    dependencies = [
        ('caseload', '0027_leaving_notices'),
        ('weighting', '0011_hours_schemes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalPauseReason',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('name', models.CharField(max_length=60)),
                ('factor', models.DecimalField(decimal_places=2, help_text='The share of its weight a paused case counts: more than 0, less than 1.', max_digits=3, verbose_name='weight factor')),
                ('maximum_weeks', models.PositiveSmallIntegerField(help_text='The longest a pause counts at the factor: after it the case counts in full.')),
                ('active', models.BooleanField(default=True, help_text='Offered for new pauses. Untick to stop offering it: old ones keep it.')),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('updated_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('service', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.service')),
            ],
            options={
                'verbose_name': 'historical pause reason',
                'verbose_name_plural': 'historical pause reasons',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='PauseReason',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=60)),
                ('factor', models.DecimalField(decimal_places=2, help_text='The share of its weight a paused case counts: more than 0, less than 1.', max_digits=3, verbose_name='weight factor')),
                ('maximum_weeks', models.PositiveSmallIntegerField(help_text='The longest a pause counts at the factor: after it the case counts in full.')),
                ('active', models.BooleanField(default=True, help_text='Offered for new pauses. Untick to stop offering it: old ones keep it.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('service', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pause_reasons', to='caseload.service')),
            ],
            options={
                'ordering': ['service', 'name'],
            },
        ),
        migrations.CreateModel(
            name='HistoricalCasePause',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('factor', models.DecimalField(decimal_places=2, max_digits=3)),
                ('start_date', models.DateField()),
                ('full_from', models.DateField(help_text='The day the case counts in full again.')),
                ('end_date', models.DateField(blank=True, help_text='The first day the pause no longer applies.', null=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('case', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.case')),
                ('ended_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.person')),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('paused_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.person')),
                ('reason', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='weighting.pausereason')),
            ],
            options={
                'verbose_name': 'historical case pause',
                'verbose_name_plural': 'historical case pauses',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='CasePause',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('factor', models.DecimalField(decimal_places=2, max_digits=3)),
                ('start_date', models.DateField()),
                ('full_from', models.DateField(help_text='The day the case counts in full again.')),
                ('end_date', models.DateField(blank=True, help_text='The first day the pause no longer applies.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('case', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pauses', to='caseload.case')),
                ('ended_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='caseload.person')),
                ('paused_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='caseload.person')),
                ('reason', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='pauses', to='weighting.pausereason')),
            ],
            options={
                'ordering': ['case', 'start_date'],
            },
        ),
        migrations.CreateModel(
            name='PauseReminder',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('emails', models.PositiveSmallIntegerField(help_text='How many managers were emailed.')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('pause', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='reminder', to='weighting.casepause')),
            ],
        ),
        migrations.AddConstraint(
            model_name='pausereason',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('name'), models.F('service'), name='pause_reason_name_unique_per_service', violation_error_message='The service already has a reason with this name.'),
        ),
        migrations.AddConstraint(
            model_name='pausereason',
            constraint=models.CheckConstraint(condition=models.Q(('factor__gt', 0), ('factor__lt', 1)), name='pause_reason_factor_in_range', violation_error_message='The weight factor is more than 0 and less than 1.'),
        ),
        migrations.AddConstraint(
            model_name='pausereason',
            constraint=models.CheckConstraint(condition=models.Q(('maximum_weeks__gte', 1), ('maximum_weeks__lte', 104)), name='pause_reason_maximum_weeks_in_range', violation_error_message='The maximum length is from 1 to 104 weeks (two years).'),
        ),
        migrations.AddIndex(
            model_name='casepause',
            index=models.Index(fields=['case', 'start_date'], name='case_pause_per_case'),
        ),
        migrations.AddConstraint(
            model_name='casepause',
            constraint=models.CheckConstraint(condition=models.Q(('factor__gt', 0), ('factor__lt', 1)), name='case_pause_factor_in_range', violation_error_message='The weight factor is more than 0 and less than 1.'),
        ),
        migrations.AddConstraint(
            model_name='casepause',
            constraint=models.CheckConstraint(condition=models.Q(('full_from__gt', models.F('start_date'))), name='case_pause_full_from_after_start'),
        ),
        migrations.AddConstraint(
            model_name='casepause',
            constraint=models.CheckConstraint(condition=models.Q(('end_date__isnull', True), ('end_date__gte', models.F('start_date')), _connector='OR'), name='case_pause_end_not_before_start', violation_error_message='The pause cannot end before it starts.'),
        ),
        migrations.AddConstraint(
            model_name='casepause',
            constraint=models.UniqueConstraint(condition=models.Q(('end_date__isnull', True)), fields=('case',), name='one_open_pause_per_case', violation_error_message='The case is already paused.'),
        ),
        exclusion_constraint(
            "weighting_casepause",
            "case_pauses_do_not_overlap",
            "case_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        ),
        migrations.RunPython(give_defaults, migrations.RunPython.noop),
        migrations.RunPython(grant, migrations.RunPython.noop),
    ]
