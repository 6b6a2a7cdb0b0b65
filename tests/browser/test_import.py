"""An administrator's first upload, in a real browser: the template filled
with a new team, the preview, the confirmation and the new team's page."""

import datetime
import io

from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook
from playwright.sync_api import expect

from caseload.models import ImportRun, Team
from exchange import exporter, runs


def filled_template(service_name: str) -> bytes:
    """The downloaded template with a new team: its manager, a worker, one
    case held by the worker and rated 3 + 3 + 2 = 8."""
    book = load_workbook(io.BytesIO(exporter.template()))
    book["teams"].append([service_name, "Adolescent Support", 18, "nina.shah"])
    book["people"].append(
        ["nina.shah", "Nina Shah", "nina@example.org", "team_manager", service_name, 1, "", None]
    )
    book["people"].append(
        ["omar.farah", "Omar Farah", "omar@example.org", "social_worker", service_name, 1,
         "nina.shah", None]
    )  # fmt: skip
    for username in ("nina.shah", "omar.farah"):
        book["memberships"].append(
            [username, service_name, "Adolescent Support", "2026-09-01", None]
        )
    book["cases"].append(
        [service_name, "AS-2001", "Exploitation risk", "cp", 1, "Adolescent Support", 2,
         "2026-10-01", None]
    )  # fmt: skip
    book["allocations"].append([service_name, "AS-2001", "omar.farah", "primary", "2026-10-02"])
    book["ratings"].append(
        [service_name, "AS-2001", "2026-10-02", "provisional", "nina.shah", None, None, None,
         None, 3, 3, 2]
    )  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_administrator_imports_a_new_team_from_the_template(
    sign_in, service, default_scheme, administrator, assert_accessible, tmp_path
):
    page = sign_in("admin")
    page.get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
    assert_accessible(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the template (XLSX)").click()
    template = load_workbook(io.BytesIO(download.value.path().read_bytes()))
    assert "teams" in template.sheetnames and "read_me" in template.sheetnames

    # A file with a problem first: nothing is written, and the row is named.
    broken = tmp_path / "cases.csv"
    broken.write_text("service,reference,type,people,team,opened_on\n"
                      f"{service.name},X-1,cp,1,No Such Team,2026-10-01\n")  # fmt: skip
    page.get_by_label("Upload a file").set_input_files(str(broken))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The file has problems")
    expect(page.locator("#problems")).to_contain_text("There is no team 'No Such Team'")
    assert_accessible(page)
    page.get_by_role("link", name="Upload a corrected file").click()

    upload = tmp_path / "adolescent-support.xlsx"
    upload.write_bytes(filled_template(service.name))
    page.get_by_label("Upload a file").set_input_files(str(upload))
    page.get_by_role("button", name="Check the file").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check what the import will do")
    rows = page.locator("table").first
    expect(rows.get_by_role("row", name="teams 1 0 0")).to_be_visible()
    expect(rows.get_by_role("row", name="people 2 0 0")).to_be_visible()
    assert not Team.objects.filter(name="Adolescent Support").exists()  # a preview writes nothing
    assert_accessible(page)
    page.screenshot(path=str(tmp_path / "import-preview.png"), full_page=True)

    page.get_by_role("button", name="Confirm and import").click()
    runs.apply_queued()  # the sweep (or the worker) writes a confirmed import
    page.reload()
    expect(page.get_by_role("heading", name="Import complete")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Adolescent Support").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Adolescent Support")
    omar = page.locator(".app-team-table").get_by_role("row").filter(has_text="Omar Farah")
    expect(omar).to_contain_text("8")  # AS-2001 rated 3 + 3 + 2
    page.screenshot(path=str(tmp_path / "imported-team.png"), full_page=True)


def test_an_import_whose_worker_keeps_dying_fails_with_a_way_to_upload_it_again(
    sign_in, live_server, team, administrator, assert_accessible
):
    """The page follows a running import; when the sweep gives up on it, the
    page says why and asks for the file again."""
    content = (
        "service,reference,label,type,people,team,opened_on\n"
        f"{team.service.name},CP-1,Family,cp,1,{team.name},2026-10-01\n"
    )
    run = runs.import_preview(
        user=administrator.user, name="cases.csv", content=content.encode(), team_ids=None
    )
    runs.import_confirm(run=run)
    # Its worker died twice already, and again, before it checked a row (where
    # tasks run in-process, the confirm has run it whole: undone here).
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.RUNNING,
        rows_done=0,
        attempts=runs.MAX_ATTEMPTS,
        started_at=timezone.now() - datetime.timedelta(days=1),
    )
    page = sign_in("admin")
    page.goto(f"{live_server.url}{reverse('import_detail', args=[run.pk])}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Importing")
    expect(page.get_by_role("status")).to_have_text("Checked 0 of 1 rows (0%).")
    assert_accessible(page)

    assert runs.apply_queued() == 1  # the sweep gives up
    # The page asks how far it has got every two seconds, and shows the end.
    expect(page.get_by_role("heading", level=1)).to_have_text("The import failed")
    expect(page.get_by_text("The import stopped 3 times before it finished")).to_be_visible()
    assert_accessible(page)
    page.get_by_role("link", name="Upload the file again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import")
