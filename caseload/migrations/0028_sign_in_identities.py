"""Who each log-in is at the council's identity provider (SignInIdentity),
and the administrators' part in it: they see the links and add one (for a
person whose email address the provider does not vouch for), never delete
one (caseload.accounts)."""

import django.db.models.deletion
import simple_history.models
from django.conf import settings
from django.contrib.auth.management import create_permissions
from django.db import migrations, models

ADMINISTRATORS = "Administrators"
CODENAMES = ["view_signinidentity", "add_signinidentity"]


def grant(apps, schema_editor):
    # Permissions are otherwise made after every migration has run: make them now.
    app_config = apps.get_app_config("caseload")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).first()
    if group is None:
        return  # made with every permission when it is first needed (caseload.accounts)
    found = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="caseload", codename__in=CODENAMES
    )
    assert found.count() == len(CODENAMES), "missing permissions of caseload"
    group.permissions.add(*found)


def take_back(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).first()
    if group is not None:
        group.permissions.remove(
            *apps.get_model("auth", "Permission").objects.filter(
                content_type__app_label="caseload", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):

    dependencies = [
        ('caseload', '0027_leaving_notices'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.CreateModel(
            name='SignInIdentity',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255)),
                ('subject', models.CharField(max_length=255)),
                ('linked_at', models.DateTimeField(auto_now_add=True)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='sign_in_identities', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'sign-in identity',
                'verbose_name_plural': 'sign-in identities',
                'constraints': [models.UniqueConstraint(fields=('issuer', 'subject'), name='one_user_per_identity'), models.UniqueConstraint(fields=('user', 'issuer'), name='one_identity_per_issuer')],
            },
        ),
        migrations.CreateModel(
            name='HistoricalSignInIdentity',
            fields=[
                ('id', models.BigIntegerField(auto_created=True, blank=True, db_index=True, verbose_name='ID')),
                ('issuer', models.CharField(max_length=255)),
                ('subject', models.CharField(max_length=255)),
                ('linked_at', models.DateTimeField(blank=True, editable=False)),
                ('history_id', models.AutoField(primary_key=True, serialize=False)),
                ('history_date', models.DateTimeField(db_index=True)),
                ('history_change_reason', models.CharField(max_length=100, null=True)),
                ('history_type', models.CharField(choices=[('+', 'Created'), ('~', 'Changed'), ('-', 'Deleted')], max_length=1)),
                ('history_user', models.ForeignKey(null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                ('user', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'verbose_name': 'historical sign-in identity',
                'verbose_name_plural': 'historical sign-in identities',
                'ordering': ('-history_date', '-history_id'),
                'get_latest_by': ('history_date', 'history_id'),
            },
            bases=(simple_history.models.HistoricalChanges, models.Model),
        ),
        migrations.RunPython(grant, take_back),
    ]
