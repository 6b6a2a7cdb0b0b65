"""The caseload app's pages: sign-in, home, the lists of teams and services, audit."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path

from caseload import account_views, audit_views, oidc_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("health/", views.health, name="health"),
    path("accessibility/", views.accessibility, name="accessibility"),
    path("sign-in/", account_views.SignInView.as_view(), name="login"),
    path("sign-out/", oidc_views.SignOutView.as_view(), name="logout"),
    # Signing in with the identity provider (404 while none is configured).
    path(
        "sign-in/provider/",
        login_not_required(oidc_views.ProviderStartView.as_view()),
        name="oidc_authentication_init",
    ),
    path(
        "sign-in/provider/answer/",
        login_not_required(oidc_views.ProviderCallbackView.as_view()),
        name="oidc_authentication_callback",
    ),
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
