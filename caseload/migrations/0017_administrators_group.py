"""Administrators are no longer superusers: the Administrators group holds the
permissions their work needs (caseload.accounts), and every person with the
administrator role becomes staff in it, with superuser status taken away.
Superusers with no person record (break-glass accounts) are left as they are."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ADMINISTRATORS = "Administrators"

# caseload.accounts.ADMINISTRATOR_PERMISSIONS as this migration grants them.
PERMISSIONS = {
    "auth": ["view_user", "change_user"],
    "axes": ["view_accessattempt", "view_accesslog", "view_accessfailurelog"],
    "caseload": [
        "view_service",
        "add_service",
        "change_service",
        "view_team",
        "add_team",
        "change_team",
        "view_person",
        "add_person",
        "change_person",
        "view_teammembership",
        "add_teammembership",
        "view_case",
        "add_case",
        "change_case",
        "view_allocation",
        "add_allocation",
        "view_superuserrequest",
    ],
    "reports": [
        "view_caseloadsnapshot",
        "view_caseloadanalysis",
        "view_escalation",
        "view_quarterlyreview",
    ],
    "weighting": [
        "view_scheme",
        "view_criterion",
        "view_level",
        "view_rating",
        "view_experiencefactor",
        "add_experiencefactor",
        "view_reduction",
        "add_reduction",
    ],
}


def make_group(apps, schema_editor):
    # Permissions are otherwise made after every migration has run: make them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _ = group_model.objects.get_or_create(name=ADMINISTRATORS)
    for app_label, codenames in PERMISSIONS.items():
        found = permission_model.objects.filter(
            content_type__app_label=app_label, codename__in=codenames
        )
        assert found.count() == len(codenames), f"missing permissions of {app_label}"
        group.permissions.add(*found)
    user_model = apps.get_model("auth", "User")
    for user in user_model.objects.filter(person__role="administrator"):
        user.is_staff = True
        user.is_superuser = False
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.add(group)


def unmake_group(apps, schema_editor):
    user_model = apps.get_model("auth", "User")
    user_model.objects.filter(person__role="administrator").update(
        is_staff=True, is_superuser=True
    )
    apps.get_model("auth", "Group").objects.filter(name=ADMINISTRATORS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("caseload", "0016_change_history_of_every_admin_write"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("axes", "0010_accessattemptexpiration"),
        ("reports", "0003_team_day_totals"),
        ("weighting", "0007_history_of_experience_factors_and_reductions"),
    ]

    operations = [migrations.RunPython(make_group, unmake_group)]
