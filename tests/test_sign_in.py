"""Signing in behind a proxy: the lockout of a user name reads the client's
address from the proxies we trust (never from a header a client can write),
and many failures from one address slow that address down without locking
anyone out."""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
import time_machine
from axes.models import AccessAttempt
from django.urls import reverse

PASSWORD = "correct horse battery staple"
LONDON = zoneinfo.ZoneInfo("Europe/London")
TEN_PAST_TEN = datetime.datetime(2026, 3, 10, 10, 12, tzinfo=LONDON)

PROXY = "10.0.0.2"  # the council's proxy: every request reaches us from it
A = "198.51.100.7"  # two offices, each with its own outgoing address
B = "203.0.113.9"


def sign_in(client, username: str, password: str = PASSWORD, *, via=None, remote=PROXY):  # type: ignore[no-untyped-def]
    """A sign-in from `remote`, carrying X-Forwarded-For: `via` when given."""
    headers = {"REMOTE_ADDR": remote}
    if via is not None:
        headers["HTTP_X_FORWARDED_FOR"] = via
    return client.post(reverse("login"), {"username": username, "password": password}, **headers)


def fail(client, username: str, times: int, **where: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(times):
        assert sign_in(client, username, "wrong", **where).status_code == 200


@pytest.fixture
def one_proxy(settings):  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1


# Whose address ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "proxy_setting", [{"TRUSTED_PROXY_COUNT": 1}, {"TRUSTED_PROXIES": ["10.0.0.0/24"]}]
)
def test_five_failures_through_the_proxy_lock_that_user_from_that_address_only(
    client, settings, team_manager, social_worker, proxy_setting
):
    for name, value in proxy_setting.items():
        setattr(settings, name, value)
    fail(client, "manager", 4, via=A)
    locked = sign_in(client, "manager", "wrong", via=A)  # the fifth
    assert locked.status_code == 429
    assert sign_in(client, "manager", via=A).status_code == 429  # even the right password
    # The same user from the other office, and another user from the first,
    # sign in: the proxy's own address locked nobody.
    assert sign_in(client, "manager", via=B).status_code == 302
    client.logout()
    assert sign_in(client, "worker", via=A).status_code == 302
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}


def test_a_forwarded_for_header_is_ignored_when_no_proxy_is_trusted(client, team_manager):
    # A client that writes its own X-Forwarded-For, a new address each time,
    # to dodge the lockout: its address is still the one it connects from.
    for n in range(5):
        sign_in(client, "manager", "wrong", via=f"192.0.2.{n}", remote=A)
    assert sign_in(client, "manager", via="192.0.2.99", remote=A).status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}
    # Nor can it put the lock on a colleague's address.
    assert sign_in(client, "manager", via=A, remote=B).status_code == 302


def test_a_client_cannot_choose_its_address_by_writing_to_the_proxy_s_header(
    client, settings, team_manager
):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    # Through the proxy, a client's own X-Forwarded-For comes first and the
    # proxy adds the address it saw: only the proxy's word counts.
    for n in range(5):
        sign_in(client, "manager", "wrong", via=f"192.0.2.{n}, {A}")
    assert sign_in(client, "manager", via=f"192.0.2.99, {A}").status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}
    # A request that does not come from the proxy is not taken at its word.
    assert sign_in(client, "manager", via=B, remote=A).status_code == 429


def test_one_proxy_counted_takes_the_address_it_added(client, one_proxy, team_manager):
    for n in range(5):
        sign_in(client, "manager", "wrong", via=f"192.0.2.{n}, {A}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {A}
    assert sign_in(client, "manager", via=B).status_code == 302


def test_a_forwarded_address_that_is_not_an_address_is_not_stored(client, one_proxy, team_manager):
    response = sign_in(client, "manager", "wrong", via="not-an-address")
    assert response.status_code == 200
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {PROXY}


# When a locked-out person may try again ----------------------------------------------


def test_the_lockout_page_says_when_to_try_again_and_a_retry_does_not_move_it(client, team_manager):
    with time_machine.travel(TEN_PAST_TEN, tick=False) as clock:
        fail(client, "manager", 4, remote=A)
        locked = sign_in(client, "manager", "wrong", remote=A)
        assert locked.status_code == 429
        text = locked.content.decode()
        assert "Try again after 10:42" in text, text
        assert locked["Retry-After"] == str(30 * 60)
        clock.shift(datetime.timedelta(minutes=20))
        again = sign_in(client, "manager", remote=A)
        assert again.status_code == 429
        assert "Try again after 10:42" in again.content.decode()
        assert again["Retry-After"] == str(10 * 60)
        clock.shift(datetime.timedelta(minutes=10, seconds=1))
        assert sign_in(client, "manager", remote=A).status_code == 302


# Many user names from one address ------------------------------------------------------


def test_thirty_failures_from_one_address_slow_that_address_and_no_other(
    client, one_proxy, team_manager, social_worker
):
    with time_machine.travel(TEN_PAST_TEN, tick=False) as clock:
        for n in range(30):
            clock.shift(datetime.timedelta(seconds=10))
            assert sign_in(client, f"guess.{n}", "wrong", via=A).status_code == 200
        slowed = sign_in(client, "manager", via=A)  # even the right password
        assert slowed.status_code == 429
        assert slowed["Retry-After"] == str(5 * 60)
        text = slowed.content.decode()
        assert "Too many attempts to sign in" in text
        assert "Try again after 10:22" in text, text  # 10:17 and 5 minutes
        assert 'class="govuk-heading-l"' in text
        # Nobody is locked out: the other office signs in as usual.
        assert sign_in(client, "manager", via=B).status_code == 302
        client.logout()
        assert sign_in(client, "worker", via=B).status_code == 302


def test_the_admin_s_sign_in_page_is_slowed_too(client, one_proxy, administrator):
    with time_machine.travel(TEN_PAST_TEN, tick=False):
        for n in range(30):
            sign_in(client, f"guess.{n}", "wrong", via=A)
        slowed = client.post(
            reverse("admin:login"),
            {"username": "admin", "password": PASSWORD},
            REMOTE_ADDR=PROXY,
            HTTP_X_FORWARDED_FOR=A,
        )
    assert slowed.status_code == 429 and slowed["Retry-After"] == str(5 * 60)
    assert slowed["Content-Security-Policy"] and slowed["X-Frame-Options"] == "DENY"


def test_after_the_wait_the_address_may_try_again(client, one_proxy, team_manager):
    with time_machine.travel(TEN_PAST_TEN, tick=False) as clock:
        fail_all = [f"guess.{n}" for n in range(30)]
        for username in fail_all:
            assert sign_in(client, username, "wrong", via=A).status_code == 200
        clock.shift(datetime.timedelta(minutes=4, seconds=59))
        waited = sign_in(client, "manager", via=A)
        assert waited.status_code == 429 and waited["Retry-After"] == "1"
        clock.shift(datetime.timedelta(seconds=1))
        assert sign_in(client, "manager", via=A).status_code == 302


def test_failures_spread_beyond_the_window_do_not_slow_the_address(client, one_proxy, team_manager):
    with time_machine.travel(TEN_PAST_TEN, tick=False) as clock:
        for n in range(40):
            clock.shift(datetime.timedelta(seconds=21))  # 29 in any 10 minutes
            assert sign_in(client, f"guess.{n}", "wrong", via=A).status_code == 200
        assert sign_in(client, "manager", via=A).status_code == 302


def test_the_limits_are_settings(client, settings, one_proxy, team_manager):
    settings.SIGN_IN_ADDRESS_LIMIT = 3
    settings.SIGN_IN_ADDRESS_WAIT = datetime.timedelta(minutes=2)
    with time_machine.travel(TEN_PAST_TEN, tick=False):
        for n in range(3):
            sign_in(client, f"guess.{n}", "wrong", via=A)
        slowed = sign_in(client, "manager", via=A)
    assert slowed.status_code == 429 and slowed["Retry-After"] == str(2 * 60)
