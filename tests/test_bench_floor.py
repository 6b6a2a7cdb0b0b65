"""The floor page of `make bench` (bench/urls.py, bench/views.py): what
every signed-in page costs before it shows anything of its own, served at
a URL the product does not have."""

import pytest
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

from caseload.models import AccessRecord

pytestmark = pytest.mark.django_db


def test_the_product_has_no_floor_page():
    with pytest.raises(NoReverseMatch):
        reverse("bench_floor")


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_floor_page_shows_the_frame_and_writes_one_audit_row(client, team_manager):
    client.force_login(team_manager.user)
    before = AccessRecord.objects.count()

    response = client.get(reverse("bench_floor"))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Claire Hughes – Team manager" in page
    assert 'href="/over-maximum/"' in page  # the manager's navigation
    assert AccessRecord.objects.count() == before + 1
    row = AccessRecord.objects.latest("pk")
    assert (row.user, row.action, row.listing, row.case_ids) == (
        team_manager.user,
        AccessRecord.Action.VIEW,
        AccessRecord.Listing.TEAM,
        [],
    )


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_floor_page_asks_a_visitor_to_sign_in(client):
    response = client.get(reverse("bench_floor"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not AccessRecord.objects.exists()


@override_settings(ROOT_URLCONF="bench.urls")
def test_the_app_keeps_its_urls_beside_the_floor_page(client, team_manager, team):
    client.force_login(team_manager.user)

    assert client.get(reverse("team_detail", args=[team.pk])).status_code == 200
