from django.urls import path

from weighting import views

urlpatterns = [
    path("teams/<int:team_pk>/scheme/", views.team_scheme, name="team_scheme"),
    path(
        "teams/<int:team_pk>/scheme/draft/", views.scheme_draft_create, name="scheme_draft_create"
    ),
    path("schemes/<int:pk>/edit/", views.scheme_edit, name="scheme_edit"),
    path("schemes/<int:pk>/agree/", views.scheme_agree, name="scheme_agree"),
    path("schemes/<int:pk>/discard/", views.scheme_discard, name="scheme_discard"),
    path("cases/<int:pk>/rate/", views.case_rate, name="case_rate"),
    path("cases/<int:pk>/pause/", views.case_pause, name="case_pause"),
    path("cases/<int:pk>/unpause/", views.case_unpause, name="case_unpause"),
]
