"""Administrators set up the systems that send case events, as they set up
services and people (caseload.accounts): they view, add and change them,
and never delete one."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINISTRATORS = "Administrators"
CODENAMES = ["view_apiclient", "add_apiclient", "change_apiclient"]


def grant(apps, schema_editor):
    # Permissions are otherwise made after every migration has run: make them now.
    app_config = apps.get_app_config("api")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).first()
    if group is None:
        return  # made with every permission when it is first needed (caseload.accounts)
    found = apps.get_model("auth", "Permission").objects.filter(
        content_type__app_label="api", codename__in=CODENAMES
    )
    assert found.count() == len(CODENAMES), "missing permissions of api"
    group.permissions.add(*found)


def take_back(apps, schema_editor):
    group = apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).first()
    if group is not None:
        group.permissions.remove(
            *apps.get_model("auth", "Permission").objects.filter(
                content_type__app_label="api", codename__in=CODENAMES
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("caseload", "0017_administrators_group"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(grant, take_back)]
