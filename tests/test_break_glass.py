"""The break-glass superuser: made with `createsuperuser` for emergencies,
never an administrator by that alone, every request it makes audited, and
warned of it on every admin page."""

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from caseload import access


@pytest.fixture
def superuser(db, monkeypatch):
    from django.contrib.auth import get_user_model

    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a long emergency passphrase")
    call_command(
        "createsuperuser", interactive=False, username="breakglass", email="it@example.org"
    )
    return get_user_model().objects.get(username="breakglass")


def test_a_superuser_is_not_an_administrator_by_that_alone(client, superuser, held_case):
    assert not access.is_administrator(superuser)
    client.force_login(superuser)
    assert client.get(reverse("case_detail", args=[held_case.pk])).status_code == 404
    assert client.get(reverse("audit_list")).status_code == 403
    assert client.get(reverse("home"))["Location"] == reverse("no_role")


def test_every_request_a_superuser_makes_is_audited(client, superuser, team, administrator):
    from caseload.models import SuperuserRequest

    client.force_login(superuser)
    client.get(reverse("admin:index"))
    client.post(
        reverse("admin:caseload_team_change", args=[team.pk]),
        {"service": team.service_id, "name": "Renamed", "aspiration": "20.0"},
    )
    client.get(reverse("admin:caseload_team_changelist") + "?q=Renamed")
    rows = list(SuperuserRequest.objects.order_by("pk").values_list("username", "method", "path"))
    assert rows == [
        ("breakglass", "GET", "/admin/"),
        ("breakglass", "POST", f"/admin/caseload/team/{team.pk}/change/"),
        ("breakglass", "GET", "/admin/caseload/team/?q=Renamed"),
    ]
    assert SuperuserRequest.objects.first().at is not None
    client.force_login(administrator.user)
    client.get(reverse("admin:index"))
    assert SuperuserRequest.objects.count() == 3  # an administrator's are not theirs


def test_a_superuser_s_failed_request_is_still_audited(client, superuser):
    from caseload.models import SuperuserRequest

    client.force_login(superuser)
    client.get("/admin/caseload/team/999999/change/")
    assert SuperuserRequest.objects.filter(path="/admin/caseload/team/999999/change/").exists()


def test_nobody_changes_or_deletes_the_superuser_audit(client, superuser):
    from caseload.models import SuperuserRequest

    client.force_login(superuser)
    client.get(reverse("admin:index"))
    row = SuperuserRequest.objects.get()
    with pytest.raises(PermissionError):
        SuperuserRequest.objects.update(path="/")
    with pytest.raises(PermissionError):
        SuperuserRequest.objects.all().delete()
    with pytest.raises(PermissionError):
        row.delete()
    row.path = "/"
    with pytest.raises(PermissionError):
        row.save()
    if connection.vendor == "postgresql":
        for sql in ("UPDATE caseload_superuserrequest SET path = '/'",
                    "DELETE FROM caseload_superuserrequest"):  # fmt: skip
            with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as c:
                c.execute(sql)
    assert SuperuserRequest.objects.get().path == "/admin/"


def test_the_admin_warns_while_signed_in_as_a_superuser(client, superuser, administrator):
    client.force_login(superuser)
    warning = "signed in as the break-glass superuser"
    assert warning in client.get(reverse("admin:index")).content.decode()
    assert warning in client.get(reverse("admin:caseload_team_changelist")).content.decode()
    client.force_login(administrator.user)
    assert warning not in client.get(reverse("admin:index")).content.decode()


def test_administrators_read_the_superuser_audit_and_cannot_change_it(
    client, superuser, administrator
):
    from caseload.models import SuperuserRequest

    client.force_login(superuser)
    client.get(reverse("admin:index"))
    row = SuperuserRequest.objects.get()
    client.force_login(administrator.user)
    page = client.get(reverse("admin:caseload_superuserrequest_changelist")).content.decode()
    assert "breakglass" in page
    delete = reverse("admin:caseload_superuserrequest_delete", args=[row.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.force_login(superuser)
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert SuperuserRequest.objects.filter(pk=row.pk).exists()


def test_in_an_emergency_the_superuser_may_set_a_password(client, superuser, social_worker):
    from caseload.models import SuperuserRequest

    client.force_login(superuser)
    url = reverse("admin:auth_user_password_change", args=[social_worker.user.pk])
    page = client.get(reverse("admin:auth_user_change", args=[social_worker.user.pk]))
    assert "../password/" in page.content.decode()
    response = client.post(
        url,
        {"password1": "a temporary 4 passphrase", "password2": "a temporary 4 passphrase"},
    )
    assert response.status_code == 302
    social_worker.user.refresh_from_db()
    assert social_worker.user.check_password("a temporary 4 passphrase")
    assert SuperuserRequest.objects.filter(method="POST", path=url).exists()
