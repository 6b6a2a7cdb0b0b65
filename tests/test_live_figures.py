"""Today's figures on a page are never older than the last committed change:
every view computes them from the records, on SQLite and PostgreSQL alike,
however the records were changed (a service function, a bulk update that
sends no signal, SQL by hand). In committed transactions, as in production.
And a download holds exactly the table its page shows."""

from __future__ import annotations

import csv
import io
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import connection
from django.urls import reverse

from allocation import services
from caseload.models import Case, Person, Team
from tests.conftest import days_ago
from tests.factories import CaseFactory
from tests.pages import table_rows

COMMITTED = pytest.mark.django_db(transaction=True)


def team_page(client, team: Team):  # type: ignore[no-untyped-def]
    response = client.get(reverse("team_detail", args=[team.pk]))
    assert response.status_code == 200
    return response


def row_of(response, caption: str, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The row of the table that starts with `name`, by its column headings."""
    headings, *rows = table_rows(response, caption)
    found = [row for row in rows if row[0].startswith(name)]
    assert len(found) == 1, f"{name!r} in {[row[0] for row in rows]}"
    return dict(zip(headings, found[0], strict=True))


def member_row(response, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return row_of(response, "Team members", name)


def sql(statement: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@COMMITTED
def test_the_team_page_shows_each_committed_change_at_the_next_view(
    client, team, team_manager, social_worker
):
    waiting = CaseFactory(team=team, reference="CP-3001", opened_on=days_ago(4), people_count=3)
    client.force_login(team_manager.user)
    page = team_page(client, team)
    assert "CP-3001" in page.content.decode()
    asha = member_row(page, "Asha Patel")
    assert (asha["FTE"], asha["Cases"], asha["Children"]) == ("1.00", "0", "0")

    # Allocated through the service: the case leaves the queue, Asha holds it.
    services.allocation_create(
        case=waiting, person=social_worker, start_date=days_ago(0), allocated_by=team_manager
    )
    page = team_page(client, team)
    assert "CP-3001" not in page.content.decode()
    asha = member_row(page, "Asha Patel")
    assert (asha["Cases"], asha["Children"]) == ("1", "3")

    # Changed behind the models' back: a bulk update, then SQL by hand.
    Case.objects.filter(pk=waiting.pk).update(people_count=5)
    assert member_row(team_page(client, team), "Asha Patel")["Children"] == "5"
    sql("UPDATE caseload_person SET fte = %s WHERE id = %s", ["0.50", social_worker.pk])
    assert member_row(team_page(client, team), "Asha Patel")["FTE"] == "0.50"
    sql("UPDATE caseload_team SET name = %s WHERE id = %s", ["Front Door", team.pk])
    assert "Front Door" in team_page(client, team).content.decode()


@COMMITTED
def test_the_team_page_counts_a_wait_up_to_the_day_it_is_viewed(
    client, team, team_manager, monkeypatch
):
    CaseFactory(team=team, reference="CP-3004", opened_on=days_ago(3))
    client.force_login(team_manager.user)
    assert "longest wait 3 days" in team_page(client, team).content.decode()
    tomorrow = days_ago(-1)
    monkeypatch.setattr("allocation.views.timezone.localdate", lambda: tomorrow)
    assert "longest wait 4 days" in team_page(client, team).content.decode()


def overview(client, service):  # type: ignore[no-untyped-def]
    response = client.get(reverse("service_overview", args=[service.pk]))
    assert response.status_code == 200
    return response


def team_today(response, name: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return row_of(response, "Teams today", name)


@COMMITTED
def test_the_service_overview_shows_each_committed_change_at_the_next_view(
    client, service, team, social_worker, team_manager, dmt_member
):
    waiting = CaseFactory(team=team, reference="CP-3005", opened_on=days_ago(2))
    client.force_login(dmt_member.user)
    row = team_today(overview(client, service), "Child Protection")
    assert (row["Case-holding FTE"], row["Cases per FTE"]) == ("1.00", "0.0")
    assert row["Unallocated"] == "1"

    services.allocation_create(
        case=waiting, person=social_worker, start_date=days_ago(0), allocated_by=team_manager
    )
    row = team_today(overview(client, service), "Child Protection")
    assert (row["Cases per FTE"], row["Unallocated"]) == ("1.0", "0")

    Person.objects.filter(pk=social_worker.pk).update(fte=Decimal("0.50"))
    row = team_today(overview(client, service), "Child Protection")
    assert (row["Case-holding FTE"], row["Cases per FTE"]) == ("0.50", "2.0")
    sql("UPDATE caseload_team SET name = %s WHERE id = %s", ["Front Door", team.pk])
    assert team_today(overview(client, service), "Front Door")["Cases per FTE"] == "2.0"


def csv_rows(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode().removeprefix("\ufeff"))))


def same_cell(shown: str, downloaded: str) -> bool:
    """A page's cell shows a download's value: a number rounded to the places
    shown (with thousands separated), no figure as a dash, text as it is."""
    if shown == "–":
        return downloaded == ""
    try:
        number = Decimal(downloaded)
    except ArithmeticError:
        return shown == downloaded
    places = Decimal(1).scaleb(-len(shown.partition(".")[2]))
    return Decimal(shown.replace(",", "")) == number.quantize(places, ROUND_HALF_UP)


@pytest.mark.django_db
def test_the_overviews_download_holds_the_rows_its_table_shows(
    client, service, team, other_team, social_worker, colleague, team_manager, dmt_member
):
    Person.objects.filter(pk=colleague.pk).update(fte=Decimal("0.60"))
    for number, (holder, children) in enumerate([(social_worker, 3), (colleague, 2), (None, 4)]):
        case = CaseFactory(team=team, reference=f"CP-40{number}", people_count=children)
        if holder:
            services.allocation_create(
                case=case, person=holder, start_date=days_ago(9), allocated_by=team_manager
            )
    CaseFactory(team=other_team, reference="FD-4001", opened_on=days_ago(6))
    client.force_login(dmt_member.user)

    response = overview(client, service)
    summary = table_rows(response, "Teams today")
    page = table_rows(response, "Teams today", which=1)  # every column, on demand
    url = reverse("service_download", args=[service.pk, "teams-today", "csv"])
    downloaded = csv_rows(client.get(url))

    # The summary that fits the page is some of the same columns, cell for cell.
    columns = [page[0].index(heading) for heading in summary[0]]
    assert len(columns) < len(page[0])
    assert summary == [[row[n] for n in columns] for row in page]

    assert page[0] == downloaded[0]  # the headings
    assert len(page) == len(downloaded) == 4  # two teams and the service's totals
    for shown, row in zip(page[1:], downloaded[1:], strict=True):
        assert len(shown) == len(row)
        assert all(map(same_cell, shown, row)), (shown, row)
    # Two cases held by 1.6 FTE: 1.25, shown rounded half up.
    assert team_today(overview(client, service), "Child Protection")["Cases per FTE"] == "1.3"
