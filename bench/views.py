"""The floor page: what every signed-in page costs before it shows anything
of its own, measured in the same run as the pages (bench/scale.py)."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload import audit


@require_GET
def floor(request: HttpRequest) -> HttpResponse:
    """A signed-in page that renders the base template and nothing else,
    with the one audit row each listing page writes (no cases listed):
    the session, the user, the middleware, the frame's navigation, one
    insert."""
    audit.record_listing(request.user, audit.Listing.TEAM, [])
    return render(request, "base.html")
