"""The import and export pages."""

from django.urls import path

from exchange import views

urlpatterns = [
    path("import/", views.import_start, name="import_start"),
    path("import/template.xlsx", views.import_template, name="import_template"),
    path("import/format/", views.import_format, name="import_format"),
    path("import/<int:pk>/", views.import_detail, name="import_detail"),
    path("import/<int:pk>/confirm/", views.import_confirm, name="import_confirm"),
    path("import/<int:pk>/progress/", views.import_progress, name="import_progress"),
    path("export/", views.export_download, name="export_download"),
]
