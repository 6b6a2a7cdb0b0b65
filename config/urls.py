"""The site's URLs: each app's pages, and the admin."""

from django.contrib import admin
from django.urls import include, path

from caseload.admin import CaseSearchView

admin.site.site_header = "Caseload administration"
admin.site.site_title = "Caseload administration"

urlpatterns = [
    path("", include("caseload.urls")),
    path("", include("weighting.urls")),
    path("", include("supervision.urls")),
    path("", include("reports.urls")),
    path("", include("allocation.urls")),
    path("", include("exchange.urls")),
    # The case-events API: a token per system, no session (docs/api.md).
    path("api/v1/", include("api.urls")),
    # The admin's search-as-you-type, audited when it answers with cases.
    path(
        "admin/autocomplete/",
        admin.site.admin_view(CaseSearchView.as_view(admin_site=admin.site)),
        name="admin_autocomplete",
    ),
    path("admin/", admin.site.urls),
]

handler400 = "caseload.errors.bad_request"
handler403 = "caseload.errors.permission_denied"
handler404 = "caseload.errors.page_not_found"
handler500 = "caseload.errors.server_error"
