from django.urls import path

from supervision import views

urlpatterns = [
    path("my-caseload/", views.my_caseload, name="my_caseload"),
    path("my-caseload/view/", views.workload_view, name="workload_view"),
    path("cases/<int:pk>/propose/", views.case_propose, name="case_propose"),
    path("concerns/", views.concern_list, name="concern_list"),
    path("concerns/raise/", views.concern_raise, name="concern_raise"),
    path("concerns/<int:pk>/respond/", views.concern_respond, name="concern_respond"),
    path("supervision/", views.supervision_home, name="supervision_home"),
    path("supervision/new/<int:worker_pk>/", views.record_new, name="record_new"),
    path("supervision/<int:pk>/", views.record_detail, name="record_detail"),
    path("supervision/<int:pk>/sign/", views.record_sign, name="record_sign"),
    path("supervision/<int:pk>/addendum/", views.record_addendum, name="record_addendum"),
    path("supervision/<int:pk>/print/", views.record_print, name="record_print"),
    path("supervision/<int:pk>/pdf/", views.record_pdf, name="record_pdf"),
]
