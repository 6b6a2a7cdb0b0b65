"""Browser tests: pytest-playwright driving Debian's Chromium (never a
downloaded browser) against pytest-django's live server."""

import os
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe

from tests.conftest import skip_or_fail

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not CHROMIUM.exists():
        skip_or_fail(f"needs Chromium at {CHROMIUM} (apt-get install chromium)")
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
        ],
    }


@pytest.fixture
def sign_in(page, live_server):
    def sign_in_as(username: str, password: str = "correct horse battery staple"):
        page.goto(f"{live_server.url}/sign-in/")
        page.get_by_label("User name").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        return page

    return sign_in_as


@pytest.fixture(scope="session")
def axe() -> Axe:
    return Axe()


@pytest.fixture
def assert_accessible(axe):
    """axe-core finds no WCAG 2.2 A/AA violation on the page as it stands, and
    no content outside a landmark (the best-practice `region` rule)."""

    def check(page) -> None:
        for only in ({"type": "tag", "values": WCAG_22_AA}, {"type": "rule", "values": ["region"]}):
            results = axe.run(page, options={"runOnly": only})
            assert results.violations_count == 0, results.generate_report()

    return check
