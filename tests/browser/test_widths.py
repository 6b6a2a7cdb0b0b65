"""Every reader: at a phone's width (375 px) and at 200% zoom (a 1280 px
window at 200%: 640 CSS px) the pages never scroll sideways as a whole, and
chart text never reads below 12 px."""

import pytest

from reports.services.reviews import quarterly_review
from tests.scenarios import QUARTER, build_small_team

WIDTHS = [375, 640]

SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
# The smallest chart text on the page, in CSS px: each chart's 14-unit text
# scaled by its drawn width over its viewBox width.
SMALLEST_CHART_TEXT = """() => Math.min(...[...document.querySelectorAll('svg.app-chart')].map(
    svg => 14 * svg.getBoundingClientRect().width / svg.viewBox.baseVal.width))"""


@pytest.mark.parametrize("width", WIDTHS)
def test_the_team_and_case_pages_fit_the_screen(
    sign_in, live_server, team, team_manager, social_worker, held_case, default_scheme, width
):
    page = sign_in("manager")
    page.set_viewport_size({"width": width, "height": 800})
    for path in (f"/teams/{team.pk}/", f"/cases/{held_case.pk}/", "/supervision/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(SIDEWAYS) == 0, path


@pytest.mark.parametrize("width", WIDTHS)
def test_the_dmt_pages_fit_the_screen_and_their_charts_read(
    sign_in, live_server, service, team, other_team, team_manager, dmt_member, default_scheme, width
):
    build_small_team(
        default_scheme=default_scheme, team=team, other_team=other_team, team_manager=team_manager
    )
    quarterly_review(service, QUARTER)
    page = sign_in("dmt")
    page.set_viewport_size({"width": width, "height": 800})
    for path in (f"/services/{service.pk}/", f"/teams/{team.pk}/dashboard/"):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(SIDEWAYS) == 0, path
        assert page.evaluate(SMALLEST_CHART_TEXT) >= 12, path


@pytest.mark.parametrize("width", WIDTHS)
def test_the_workers_caseload_fits_the_screen_and_its_chart_reads(
    sign_in, live_server, team, social_worker, held_case, default_scheme, width
):
    page = sign_in("worker")
    page.set_viewport_size({"width": width, "height": 800})
    page.goto(f"{live_server.url}/my-caseload/")
    assert page.evaluate(SIDEWAYS) == 0
    assert page.evaluate(SMALLEST_CHART_TEXT) >= 12
