"""The caseload app's pages: sign-in, teams, cases and allocation, audit."""

from django.contrib.auth import views as auth_views
from django.urls import path

from caseload import account_views, audit_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path(
        "sign-in/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("sign-out/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "invitation/<uidb64>/<token>/",
        account_views.InvitationView.as_view(),
        name="invitation",
    ),
    path("password/", account_views.password_reset, name="password_reset"),
    path("password/sent/", account_views.password_reset_sent, name="password_reset_sent"),
    path("session/keep-alive/", views.session_keep_alive, name="session_keep_alive"),
    path("no-role/", views.no_role, name="no_role"),
    path("teams/", views.team_list, name="team_list"),
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("services/", views.service_list, name="service_list"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/allocate/", views.case_allocate, name="case_allocate"),
    path("cases/<int:pk>/transfer/", views.case_transfer, name="case_transfer"),
    path("cases/<int:pk>/move-team/", views.case_move_team, name="case_move_team"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/involve/", views.case_involve, name="case_involve"),
    path("cases/<int:pk>/priority/", views.case_priority, name="case_priority"),
    path("allocations/<int:pk>/done/", views.allocation_done, name="allocation_done"),
    path("allocations/<int:pk>/end/", views.allocation_end_involved, name="allocation_end"),
    path("over-maximum/", views.over_maximum_list, name="over_maximum_list"),
    path("over-maximum/<int:pk>/review/", views.over_maximum_review, name="over_maximum_review"),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/download.csv", audit_views.audit_download, name="audit_download"),
]
