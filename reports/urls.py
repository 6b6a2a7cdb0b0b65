from django.urls import path

from reports import views

FORMAT = "<str:slug>.<str:file_format>"

urlpatterns = [
    path("services/<int:pk>/", views.service_overview, name="service_overview"),
    path("services/<int:pk>/forecast/", views.service_forecast, name="service_forecast"),
    path(
        "services/<int:pk>/what-if/",
        views.what_if,
        {"of_scheme": False},
        name="service_what_if",
    ),
    path(
        f"services/<int:pk>/what-if/{FORMAT}",
        views.what_if_download,
        {"of_scheme": False},
        name="service_what_if_download",
    ),
    path("schemes/<int:pk>/what-if/", views.what_if, {"of_scheme": True}, name="scheme_what_if"),
    path(
        f"schemes/<int:pk>/what-if/{FORMAT}",
        views.what_if_download,
        {"of_scheme": True},
        name="scheme_what_if_download",
    ),
    path(f"services/<int:pk>/download/{FORMAT}", views.service_download, name="service_download"),
    path("services/<int:pk>/dmt-pack.pdf", views.service_pack, name="service_pack"),
    path("teams/<int:pk>/dashboard/", views.team_dashboard, name="team_dashboard"),
    path("teams/<int:pk>/forecast/", views.team_forecast, name="team_forecast"),
    path(f"teams/<int:pk>/dashboard/download/{FORMAT}", views.team_download, name="team_download"),
    path("teams/<int:pk>/decisions/new/", views.decision_create, name="decision_create"),
    path(
        "teams/<int:pk>/capacity-issue/", views.capacity_issue_create, name="capacity_issue_create"
    ),
    path("people/<int:pk>/numbers/", views.person_dashboard, name="person_dashboard"),
    path(
        f"people/<int:pk>/numbers/download/{FORMAT}", views.person_download, name="person_download"
    ),
    path("decisions/", views.decision_list, name="decision_list"),
    path(f"decisions/download/{FORMAT}", views.decision_download, name="decision_download"),
    path("escalations/", views.escalation_list, name="escalation_list"),
    path(
        "escalations/download.<str:file_format>",
        views.escalation_download,
        name="escalation_download",
    ),
    path("escalations/<int:pk>/", views.escalation_detail, name="escalation_detail"),
]
