"""FTE as dated history (docs/adr/0025): the FteChange table, on PostgreSQL
an exclusion constraint against overlapping periods (docs/adr/0002), and for
everyone already recorded one open row holding the FTE they have today.

That first row starts on the day of their earliest team membership: the
earliest day the numbers count them in a team, so every day already shown
keeps its figures. Someone never in a team starts on the day they were added.
(Before a person's first row the numbers take that row's FTE anyway; the
start date is what their history shows.) Person.fte is left as it is."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.db import migrations, models
from django.db.models import Min
from django.utils import timezone

from caseload.db import exclusion_constraint


def first_rows(apps, schema_editor):
    person_model = apps.get_model("caseload", "Person")
    fte_change = apps.get_model("caseload", "FteChange")
    people = person_model.objects.annotate(joined=Min("memberships__start_date")).values_list(
        "pk", "fte", "joined", "created_at"
    )
    fte_change.objects.bulk_create(
        (
            fte_change(
                person_id=pk,
                fte=fte,
                start_date=joined or timezone.localtime(created_at).date(),
            )
            for pk, fte, joined, created_at in people
        ),
        batch_size=2000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ('caseload', '0025_service_full_time_hours'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='HistoricalFteChange',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('fte', models.DecimalField(decimal_places=2, max_digits=3, verbose_name='FTE')),
                ('start_date', models.DateField()),
                ('end_date', models.DateField(blank=True, help_text='The first day this FTE no longer applies.', null=True)),
                ('created_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('person', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.person')),
                ('recorded_by', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='caseload.person')),
            ],
            options={
                'verbose_name': 'historical FTE change',
                'verbose_name_plural': 'historical FTE changes',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.CreateModel(
            name='FteChange',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('fte', models.DecimalField(decimal_places=2, max_digits=3, verbose_name='FTE')),
                ('start_date', models.DateField()),
                ('end_date', models.DateField(blank=True, help_text='The first day this FTE no longer applies.', null=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('person', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='fte_history', to='caseload.person')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='caseload.person')),
            ],
            options={
                'verbose_name': 'FTE change',
                'ordering': ['person', 'start_date'],
                'constraints': [models.CheckConstraint(condition=models.Q(('fte__gt', 0), ('fte__lte', 1)), name='fte_change_fte_between_0_and_1', violation_error_message='FTE must be more than 0 and no more than 1.'), models.CheckConstraint(condition=models.Q(('end_date__isnull', True), ('end_date__gt', models.F('start_date')), _connector='OR'), name='fte_change_end_after_start', violation_error_message='An FTE ends after it starts.'), models.UniqueConstraint(condition=models.Q(('end_date__isnull', True)), fields=('person',), name='one_open_fte_per_person')],
            },
        ),
        exclusion_constraint(
            "caseload_ftechange",
            "fte_periods_do_not_overlap",
            "person_id WITH =, daterange(start_date, end_date, '[)') WITH &&",
        ),
        # Backwards the table goes, and with it the rows: Person.fte was never changed.
        migrations.RunPython(first_rows, migrations.RunPython.noop),
    ]
