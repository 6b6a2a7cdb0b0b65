"""The administration pages write through the same rules as everything else."""

import pytest
from django.urls import reverse

from caseload import services
from caseload.models import Allocation, Case, Person, TeamMembership
from tests.conftest import days_ago, primary_holders
from tests.factories import CaseFactory, ServiceFactory, UserFactory, member, reason_named


@pytest.fixture
def admin_client(client, administrator):
    client.force_login(administrator.user)
    return client


def add_allocation(admin_client, case, person, kind="primary"):
    return admin_client.post(
        reverse("admin:caseload_allocation_add"),
        {
            "case": case.pk,
            "person": person.pk,
            "kind": kind,
            "start_date": days_ago(2).strftime("%d/%m/%Y"),
            "reason": "Allocated in the admin",
        },
    )


def test_an_administrator_allocates_through_the_rules(
    admin_client, case, social_worker, administrator
):
    response = add_allocation(admin_client, case, social_worker)
    assert response.status_code == 302
    allocation = Allocation.objects.get(case=case)
    assert allocation.person == social_worker
    assert allocation.allocated_by == administrator


def test_the_admin_refuses_a_student_as_primary_worker(admin_client, case, student):
    response = add_allocation(admin_client, case, student)
    assert response.status_code == 200
    assert "students are recorded as involved workers" in response.content.decode()
    assert not Allocation.objects.exists()


def test_the_admin_refuses_a_second_primary_worker(admin_client, held_case, colleague):
    response = add_allocation(admin_client, held_case, colleague)
    assert "already allocated to Asha Patel" in response.content.decode()
    assert primary_holders(held_case)[0].full_name == "Asha Patel"


def test_the_admin_refuses_a_team_manager_holding_cases(admin_client, case, team, team_manager):
    TeamMembership.objects.create(person=team_manager, team=team, start_date=days_ago(100))
    response = add_allocation(admin_client, case, team_manager)
    assert "carries no cases" in response.content.decode()
    assert not Allocation.objects.exists()


def test_allocations_cannot_be_edited_in_the_admin(admin_client, held_case, colleague):
    allocation = held_case.allocations.get()
    admin_client.post(
        reverse("admin:caseload_allocation_change", args=[allocation.pk]),
        {"person": colleague.pk, "start_date": days_ago(1).strftime("%d/%m/%Y")},
    )
    allocation.refresh_from_db()
    assert allocation.person.full_name == "Asha Patel"
    assert allocation.start_date == days_ago(60)


def test_allocations_cannot_be_deleted_in_the_admin(admin_client, held_case):
    allocation = held_case.allocations.get()
    response = admin_client.post(
        reverse("admin:caseload_allocation_delete", args=[allocation.pk]), {"post": "yes"}
    )
    assert response.status_code == 403
    assert Allocation.objects.filter(pk=allocation.pk).exists()


def test_ending_allocations_is_an_admin_action(admin_client, held_case, administrator):
    allocation = held_case.allocations.get()
    admin_client.post(
        reverse("admin:caseload_allocation_changelist"),
        {"action": "end_today", "_selected_action": [allocation.pk]},
    )
    allocation.refresh_from_db()
    assert allocation.end_date == days_ago(0)
    assert allocation.ended_by == administrator


def test_closing_cases_is_an_admin_action(admin_client, held_case):
    admin_client.post(
        reverse("admin:caseload_case_changelist"),
        {"action": "close_today", "_selected_action": [held_case.pk]},
    )
    held_case.refresh_from_db()
    assert held_case.status == Case.Status.CLOSED
    assert held_case.allocations.get().end_date == days_ago(0)


def person_form(person, **changes):
    data = {
        "user": person.user.pk,
        "full_name": person.full_name,
        "role": person.role,
        "service": person.service_id or "",
        "fte": str(person.fte),
        "supervisor": person.supervisor_id or "",
        "asye_start_date": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_the_admin_refuses_making_a_case_holder_a_team_manager(
    admin_client, held_case, social_worker
):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, role="team_manager"),
    )
    assert "primary worker on open cases" in response.content.decode()
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.SOCIAL_WORKER


def test_the_admin_changes_a_role_the_rules_allow(admin_client, social_worker):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, role="team_manager"),
    )
    assert response.status_code == 302
    social_worker.refresh_from_db()
    assert social_worker.role == Person.Role.TEAM_MANAGER


def test_the_admin_moves_a_person_between_teams(admin_client, social_worker, team, other_team):
    response = admin_client.post(
        reverse("admin:caseload_teammembership_add"),
        {
            "person": social_worker.pk,
            "team": other_team.pk,
            "start_date": days_ago(3).strftime("%d/%m/%Y"),
        },
    )
    assert response.status_code == 302
    history = list(social_worker.memberships.order_by("start_date").values_list("team", "end_date"))
    assert history == [(team.pk, days_ago(3)), (other_team.pk, None)]


def test_the_admin_refuses_a_case_opened_in_the_future(admin_client, team):
    response = admin_client.post(
        reverse("admin:caseload_case_add"),
        {
            "team": team.pk,
            "reference": "CP-9999",
            "label": "Referral",
            "case_type": "cin",
            "people_count": "1",
            "priority": "3",
            "opened_on": days_ago(-3).strftime("%d/%m/%Y"),
        },
    )
    assert "cannot be opened in the future" in response.content.decode()
    assert not Case.objects.filter(reference="CP-9999").exists()


@pytest.mark.parametrize(
    "model", ["service", "team", "person", "teammembership", "case", "allocation"]
)
def test_every_model_has_an_admin_page(admin_client, model, held_case):
    assert admin_client.get(reverse(f"admin:caseload_{model}_changelist")).status_code == 200
    assert admin_client.get(reverse(f"admin:caseload_{model}_add")).status_code == 200


@pytest.mark.parametrize(
    "model", ["scheme", "criterion", "level", "rating", "experiencefactor", "reduction"]
)
def test_every_weighting_model_has_an_admin_page(admin_client, model, default_scheme):
    assert admin_client.get(reverse(f"admin:weighting_{model}_changelist")).status_code == 200


def test_agreed_schemes_and_ratings_are_read_only_in_the_admin(admin_client, default_scheme):
    assert admin_client.get(reverse("admin:weighting_scheme_add")).status_code == 403
    response = admin_client.post(
        reverse("admin:weighting_scheme_change", args=[default_scheme.pk]), {"benchmark": "1"}
    )
    assert response.status_code == 403
    default_scheme.refresh_from_db()
    assert default_scheme.benchmark == 100
    assert admin_client.get(reverse("admin:weighting_rating_add")).status_code == 403


def test_the_admin_records_protected_time_through_the_rules(
    admin_client, social_worker, administrator
):
    def add(reason, **amount):
        return admin_client.post(
            reverse("admin:weighting_reduction_add"),
            {
                "person": social_worker.pk,
                "reason": reason_named(social_worker, reason).pk,
                "detail": "",
                "start_date": days_ago(10).strftime("%d/%m/%Y"),
                "end_date": "",
                "hours_per_week": "",
                "percentage": "",
                **amount,
            },
        )

    assert add("training", hours_per_week="2").status_code == 302
    refused = add("training", percentage="5")
    assert "already has training time in that period" in refused.content.decode()
    both = add("trade union duties", hours_per_week="2", percentage="5")
    assert "not both" in both.content.decode()
    assert social_worker.reductions.get().recorded_by == administrator


def test_the_admin_records_an_experience_factor_and_keeps_history(admin_client, team):
    asye = member(team, role="asye")

    def agree(factor, days):
        return admin_client.post(
            reverse("admin:weighting_experiencefactor_add"),
            {
                "person": asye.pk,
                "factor": factor,
                "start_date": days_ago(days).strftime("%d/%m/%Y"),
                "reason": "Agreed in supervision",
            },
        )

    assert agree("0.8", 100).status_code == 302
    assert agree("0.9", 10).status_code == 302
    assert "above 0, up to 1" in agree("1.5", 5).content.decode()
    assert "a new one must start after that" in agree("0.95", 20).content.decode()
    history = list(asye.experience_factors.order_by("start_date").values_list("factor", "end_date"))
    assert [(str(f), e) for f, e in history] == [("0.80", days_ago(10)), ("0.90", None)]


# -- The administrator is not a superuser (issue 22, item 2) --------------------


def test_an_administrator_is_staff_but_not_a_superuser(administrator):
    user = administrator.user
    assert user.is_staff
    assert not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == ["Administrators"]


def test_the_admin_refuses_an_administrator_as_anyone_s_supervisor(
    admin_client, social_worker, administrator
):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, supervisor=administrator.pk),
    )
    assert "An administrator cannot supervise anyone" in response.content.decode()
    social_worker.refresh_from_db()
    assert social_worker.supervisor.full_name == "Claire Hughes"


def test_the_admin_refuses_a_senior_manager_as_anyone_s_supervisor(
    admin_client, social_worker, dmt_member
):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, supervisor=dmt_member.pk),
    )
    assert "A senior manager (DMT) cannot supervise anyone" in response.content.decode()
    social_worker.refresh_from_db()
    assert social_worker.supervisor.full_name == "Claire Hughes"


@pytest.mark.parametrize("role", ["administrator", "senior_manager"])
def test_the_admin_refuses_a_supervisor_a_role_that_cannot_supervise(
    admin_client, social_worker, team_manager, role
):
    response = admin_client.post(
        reverse("admin:caseload_person_change", args=[team_manager.pk]),
        person_form(team_manager, role=role),
    )
    assert "supervises Asha Patel" in response.content.decode()
    team_manager.refresh_from_db()
    assert team_manager.role == Person.Role.TEAM_MANAGER


def test_an_administrator_cannot_change_their_own_role(admin_client, administrator):
    admin_client.post(
        reverse("admin:caseload_person_change", args=[administrator.pk]),
        person_form(administrator, role="team_manager"),
    )
    administrator.refresh_from_db()
    assert administrator.role == Person.Role.ADMINISTRATOR


def test_an_administrator_cannot_give_a_person_another_log_in(
    admin_client, social_worker, administrator
):
    """Moving a worker's person record onto a log-in the administrator holds
    would let them sign in as that worker."""
    spare = UserFactory(username="spare")
    admin_client.post(
        reverse("admin:caseload_person_change", args=[social_worker.pk]),
        person_form(social_worker, user=spare.pk),
    )
    social_worker.refresh_from_db()
    assert social_worker.user.username == "worker"


def team_form(team, **changes):
    data = {
        "service": team.service_id,
        "name": team.name,
        "aspiration": str(team.aspiration),
        "managers": [m.pk for m in team.managers.all()],
    }
    data.update(changes)
    return data


@pytest.mark.parametrize("fixture", ["social_worker", "dmt_member", "administrator"])
def test_only_team_managers_may_be_a_team_s_managers(admin_client, team, fixture, request):
    """The list offers team managers only; a crafted post is refused too."""
    person = request.getfixturevalue(fixture)
    url = reverse("admin:caseload_team_change", args=[team.pk])
    page = admin_client.get(url).content.decode()
    managers = page[page.index('name="managers"') :].split("</select>", 1)[0]
    assert f'<option value="{person.pk}"' not in managers
    response = admin_client.post(url, team_form(team, managers=[person.pk]))
    assert f"{person.pk} is not one of the available choices" in response.content.decode()
    assert person not in team.managers.all()
    with pytest.raises(services.RuleBroken, match="Only team managers manage a team"):
        services.check_team_managers(team=team, managers=[person])


def test_a_team_with_cases_cannot_move_to_another_service(admin_client, team, case):
    adults = ServiceFactory(name="Adult Social Care", kind="adults")
    response = admin_client.post(
        reverse("admin:caseload_team_change", args=[team.pk]), team_form(team, service=adults.pk)
    )
    assert "holds cases" in response.content.decode()
    team.refresh_from_db()
    assert team.service.name == "Children's Social Care"


def test_a_team_with_only_closed_cases_cannot_move_either(admin_client, team, case):
    services.case_close(case=case, closed_on=days_ago(0), by=None)
    adults = ServiceFactory(name="Adult Social Care", kind="adults")
    admin_client.post(
        reverse("admin:caseload_team_change", args=[team.pk]), team_form(team, service=adults.pk)
    )
    team.refresh_from_db()
    assert team.service.name == "Children's Social Care"


def test_a_team_without_cases_moves_to_another_service(admin_client, other_team):
    adults = ServiceFactory(name="Adult Social Care", kind="adults")
    response = admin_client.post(
        reverse("admin:caseload_team_change", args=[other_team.pk]),
        team_form(other_team, service=adults.pk),
    )
    assert response.status_code == 302
    other_team.refresh_from_db()
    assert other_team.service == adults


def case_form(case, **changes):
    data = {
        "reference": case.reference,
        "label": case.label,
        "case_type": case.case_type,
        "people_count": str(case.people_count),
        "priority": str(case.priority),
    }
    data.update(changes)
    return data


def test_a_duplicate_reference_on_change_is_a_form_error(admin_client, team, case):
    other = CaseFactory(team=team, reference="CP-2000")
    response = admin_client.post(
        reverse("admin:caseload_case_change", args=[other.pk]),
        case_form(other, reference="CP-1042"),
    )
    assert response.status_code == 200
    assert "There is already a case CP-1042 in this service" in response.content.decode()
    other.refresh_from_db()
    assert other.reference == "CP-2000"


def test_a_duplicate_reference_on_add_is_a_form_error(admin_client, team, case):
    response = admin_client.post(
        reverse("admin:caseload_case_add"),
        {
            "team": team.pk,
            "opened_on": days_ago(3).strftime("%d/%m/%Y"),
            **case_form(case, reference=" CP-1042 "),
        },
    )
    assert response.status_code == 200
    assert "There is already a case CP-1042 in this service" in response.content.decode()
    assert Case.objects.filter(reference="CP-1042").count() == 1


def test_the_admin_never_shows_an_administrator_a_password(admin_client, social_worker):
    user = social_worker.user
    page = admin_client.get(reverse("admin:auth_user_change", args=[user.pk])).content.decode()
    assert 'name="password' not in page
    assert "password/" not in page  # no link to the change-password form
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    assert admin_client.get(url).status_code == 403
    admin_client.post(url, {"password1": "a new one 4 me!", "password2": "a new one 4 me!"})
    user.refresh_from_db()
    assert user.check_password("correct horse battery staple")
    add_page = admin_client.get(reverse("admin:caseload_person_add")).content.decode()
    assert 'type="password"' not in add_page


def test_an_administrator_cannot_make_anyone_a_superuser(
    admin_client, social_worker, administrator
):
    for user in (social_worker.user, administrator.user):
        admin_client.post(
            reverse("admin:auth_user_change", args=[user.pk]),
            {
                "username": user.username,
                "email": user.email,
                "first_name": "",
                "last_name": "",
                "is_active": "on",
                "is_staff": "on",
                "is_superuser": "on",
                "date_joined_0": "01/01/2026",
                "date_joined_1": "09:00:00",
            },
        )
        user.refresh_from_db()
        assert not user.is_superuser
    assert not social_worker.user.is_staff
    assert admin_client.get(reverse("admin:auth_group_changelist")).status_code == 403


def test_an_administrator_changes_a_log_in_s_email(admin_client, social_worker, administrator):
    user = social_worker.user
    response = admin_client.post(
        reverse("admin:auth_user_change", args=[user.pk]),
        {"username": "worker", "email": "asha.patel@example.org", "is_active": "on"},
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.email == "asha.patel@example.org"
    assert user.history.latest().history_user == administrator.user


@pytest.mark.parametrize("model", ["accessattempt", "accesslog", "accessfailurelog"])
def test_sign_in_and_lockout_logs_are_read_only(admin_client, model):
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    row = {
        "accessattempt": lambda: AccessAttempt.objects.create(
            username="worker", ip_address="10.0.0.1", failures_since_start=5
        ),
        "accesslog": lambda: AccessLog.objects.create(username="worker", ip_address="10.0.0.1"),
        "accessfailurelog": lambda: AccessFailureLog.objects.create(
            username="worker", ip_address="10.0.0.1"
        ),
    }[model]()
    changelist = reverse(f"admin:axes_{model}_changelist")
    assert admin_client.get(changelist).status_code == 200
    assert admin_client.get(reverse(f"admin:axes_{model}_add")).status_code == 403
    delete = reverse(f"admin:axes_{model}_delete", args=[row.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [row.pk], "post": "yes"}
    )
    assert type(row).objects.filter(pk=row.pk).exists()
    page = admin_client.get(reverse(f"admin:axes_{model}_change", args=[row.pk])).content.decode()
    assert 'type="submit"' not in page.split('id="content"')[1]


def admin_registered_models_written_by_the_admin():
    """Models whose admin page lets a superuser add or change rows."""
    from django.contrib import admin
    from django.contrib.auth.models import User
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = User(is_active=True, is_staff=True, is_superuser=True)
    written = [
        model
        for model, model_admin in admin.site._registry.items()
        if model_admin.has_add_permission(request) or model_admin.has_change_permission(request)
    ]
    return sorted(written, key=lambda model: model._meta.label)


def test_every_model_the_admin_writes_keeps_its_history():
    from simple_history.models import registered_models

    models = admin_registered_models_written_by_the_admin()
    assert {m._meta.label for m in models} >= {"auth.User", "caseload.Case", "caseload.Person"}
    without = [m._meta.label for m in models if m not in registered_models.values()]
    assert without == []


def test_an_admin_change_to_a_case_is_in_its_history_with_who_made_it(
    admin_client, case, administrator
):
    admin_client.post(
        reverse("admin:caseload_case_change", args=[case.pk]), case_form(case, label="Referral")
    )
    latest = case.history.latest()
    assert (latest.label, latest.history_user) == ("Referral", administrator.user)
    page = admin_client.get(reverse("admin:caseload_case_history", args=[case.pk]))
    assert "Referral" in page.content.decode() or "Alex Morgan" in page.content.decode()


def test_no_admin_page_shows_supervision_records_views_of_workload_or_emails(
    admin_client, administrator
):
    from django.contrib import admin

    registered = {model._meta.label for model in admin.site._registry}
    hidden = {
        "supervision.SupervisionRecord",
        "supervision.SupervisionCaseItem",
        "supervision.SupervisionAddendum",
        "supervision.WorkloadView",
        "supervision.WorkloadConcern",
        "supervision.RatingProposal",
        "caseload.Notification",  # invitations carry a link to set a password
    }
    assert registered & hidden == set()
    for path in (
        "/admin/supervision/",
        "/admin/supervision/supervisionrecord/",
        "/admin/supervision/workloadview/",
        "/admin/caseload/notification/",
    ):
        assert admin_client.get(path).status_code == 404, path


def every_admin_url() -> list[str]:
    """The index, each app's index, and each registered model's list, add
    page, and (with a row to name) change, history and delete pages."""
    from django.contrib import admin

    urls = [reverse("admin:index")]
    for model in admin.site._registry:
        opts = model._meta
        urls.append(reverse("admin:app_list", args=[opts.app_label]))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        urls.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
        row = model._default_manager.first()
        if row is not None:
            for page in ("change", "history", "delete"):
                urls.append(
                    reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=[row.pk])
                )
    return sorted(set(urls))


def test_every_admin_url_is_refused_to_every_other_role(
    client, held_case, social_worker, team_manager, dmt_member, administrator, default_scheme
):
    urls = every_admin_url()
    assert len(urls) > 60
    for person in (social_worker, team_manager, dmt_member):
        client.force_login(person.user)
        for url in urls:
            for method in ("get", "post"):
                response = getattr(client, method)(url)
                assert response.status_code == 302, (person, method, url)
                assert response["Location"].startswith("/admin/login/"), (person, url)
    client.force_login(administrator.user)
    assert client.get(reverse("admin:index")).status_code == 200


def test_every_admin_page_answers_an_administrator_as_their_permissions_say(
    admin_client, held_case, social_worker, default_scheme, administrator
):
    """Pages of the models their work needs open; the rest are refused (403),
    and deleting is refused everywhere."""
    from django.contrib import admin

    from caseload.accounts import ADMINISTRATOR_PERMISSIONS

    granted = {f"{app}.{c}" for app, codes in ADMINISTRATOR_PERMISSIONS.items() for c in codes}
    wrong = []
    for model in admin.site._registry:
        opts = model._meta
        label = f"{opts.app_label}.%s_{opts.model_name}"
        may_view = label % "view" in granted
        pages = {"changelist": (200 if may_view else 403, [])}
        pages["add"] = (200 if label % "add" in granted else 403, [])
        row = model._default_manager.first()
        if row is not None:
            pages |= {
                "change": (200 if may_view else 403, [row.pk]),
                "history": (200 if may_view else 403, [row.pk]),
                "delete": (403, [row.pk]),
            }
        for page, (want, args) in pages.items():
            url = reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args)
            status = admin_client.get(url).status_code
            if status != want:
                wrong.append(f"{url}: {status}, expected {want}")
    assert wrong == []


def test_the_supervisor_box_offers_only_people_who_may_supervise(
    admin_client, team_manager, dmt_member, administrator, social_worker
):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {"app_label": "caseload", "model_name": "person", "field_name": "supervisor", "term": ""},
    )
    offered = {row["text"] for row in response.json()["results"]}
    assert {"Claire Hughes", "Asha Patel"} <= offered
    assert not {"Dana Morris", "Alex Morgan"} & offered


def test_history_is_shown_never_reverted(admin_client, case):
    admin_client.post(
        reverse("admin:caseload_case_change", args=[case.pk]), case_form(case, label="Referral")
    )
    first = case.history.earliest()
    url = reverse("admin:caseload_case_simple_history", args=[case.pk, first.history_id])
    assert admin_client.get(url).status_code == 200
    assert admin_client.post(url, case_form(case)).status_code == 403
    case.refresh_from_db()
    assert case.label == "Referral"
