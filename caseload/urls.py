"""The caseload app's pages: sign-in, home, the lists of teams and services, audit."""

from django.contrib.auth import views as auth_views
from django.urls import path

from caseload import account_views, audit_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accessibility/", views.accessibility, name="accessibility"),
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
    path("services/", views.service_list, name="service_list"),
    path("audit/", audit_views.audit_list, name="audit_list"),
    path("audit/download.csv", audit_views.audit_download, name="audit_download"),
]
