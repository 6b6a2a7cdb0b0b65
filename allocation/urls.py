"""The allocation app's pages: the team page, cases and the allocation journey."""

from django.urls import path

from allocation import views

urlpatterns = [
    path("teams/<int:pk>/", views.team_detail, name="team_detail"),
    path("cases/<int:pk>/", views.case_detail, name="case_detail"),
    path("cases/<int:pk>/allocate/", views.case_allocate, name="case_allocate"),
    path("cases/<int:pk>/transfer/", views.case_transfer, name="case_transfer"),
    path("cases/<int:pk>/move-team/", views.case_move_team, name="case_move_team"),
    path("cases/<int:pk>/close/", views.case_close, name="case_close"),
    path("cases/<int:pk>/planned-closing/", views.case_plan_closing, name="case_plan_closing"),
    path("teams/<int:pk>/vacancies/", views.team_vacancies, name="team_vacancies"),
    path("people/<int:pk>/plan/", views.person_plan, name="person_plan"),
    path("cases/<int:pk>/involve/", views.case_involve, name="case_involve"),
    path("cases/<int:pk>/priority/", views.case_priority, name="case_priority"),
    path("cases/<int:pk>/restriction/", views.case_restriction, name="case_restriction"),
    path("allocations/<int:pk>/done/", views.allocation_done, name="allocation_done"),
    path("allocations/<int:pk>/end/", views.allocation_end_involved, name="allocation_end"),
    path("over-maximum/", views.over_maximum_list, name="over_maximum_list"),
    path("over-maximum/<int:pk>/review/", views.over_maximum_review, name="over_maximum_review"),
]
