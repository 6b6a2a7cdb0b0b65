"""Import and export of the whole caseload in the browser: upload, preview,
confirm, progress and result; the template and the export downloads."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from caseload import access, audit
from caseload.models import ImportRun
from caseload.resubmission import once_per_form
from caseload.services import RuleBroken
from exchange import exporter, runs
from exchange.forms import ImportForm
from exchange.guide import guide_parts

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _scope(request: HttpRequest) -> list[int] | None:
    scope = access.import_scope(request.user)
    if scope is False:
        raise PermissionDenied("Only administrators and team managers import.")
    return scope  # type: ignore[return-value]


def _left_out(request: HttpRequest, scope: list[int] | None) -> set[int]:
    """The restricted cases an export for this user leaves out: a team's
    managers see all its cases; an administrator not those they are not
    named on."""
    return access.hidden_case_ids(
        request.user, exporter.cases_exported(scope).filter(restricted=True)
    )


@require_http_methods(["GET", "POST"])
@once_per_form
def import_start(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            run = runs.import_preview(
                user=request.user, name=upload.name, content=upload.read(), team_ids=scope
            )
        except RuleBroken as error:
            form.add_error("file", error)
        else:
            return redirect("import_detail", pk=run.pk)
    recent = access.imports_visible_to(request.user)[:5]
    return render(
        request,
        "exchange/import_start.html",
        {
            "form": form,
            "recent": recent,
            "whole_council": scope is None,
            "left_out_note": (
                exporter.left_out_note(len(left_out))
                if (left_out := _left_out(request, scope))
                else ""
            ),
        },
    )


def _progress(run: ImportRun) -> dict:
    """How far a confirmed import has got, in words: its rows are checked,
    then written in one go."""
    percent = (100 * run.rows_done // run.row_count) if run.row_count else 0
    if run.status == ImportRun.Status.QUEUED:
        text = "Waiting to start."
    elif run.rows_done >= run.row_count:
        text = f"Checked all {run.row_count:,} rows: writing them."
    else:
        text = f"Checked {run.rows_done:,} of {run.row_count:,} rows ({percent}%)."
    return {"percent": percent, "progress_text": text}


@require_GET
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = access.get_import_for_user(request.user, pk)
    summary = run.summary or {}
    return render(
        request,
        "exchange/import_detail.html",
        {
            "run": run,
            "counts": summary.get("counts", []),
            "errors": summary.get("errors", []),
            "error_count": summary.get("error_count", 0),
            "notes": summary.get("notes", []),
            "teams": summary.get("teams", []),
            "new_with_email": summary.get("new_with_email", 0),
            "invited": summary.get("invited"),
            "preview_hours": runs.PREVIEW_HOURS,
            **_progress(run),
        },
    )


@require_GET
def import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    run = access.get_import_for_user(request.user, pk)
    return JsonResponse(
        {
            "status": run.status,
            "in_progress": run.in_progress,
            "rows_done": run.rows_done,
            "row_count": run.row_count,
            **_progress(run),
        }
    )


@require_POST
@once_per_form
def import_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    _scope(request)
    run = access.get_import_for_user(request.user, pk)
    try:
        runs.import_confirm(run=run, invite=request.POST.get("invite") == "yes")
    except RuleBroken as error:
        messages.error(request, error.messages[0])
    return redirect("import_detail", pk=run.pk)


@require_GET
def import_template(request: HttpRequest) -> HttpResponse:
    _scope(request)
    response = HttpResponse(exporter.template(), content_type=XLSX)
    response["Content-Disposition"] = 'attachment; filename="caseload-import-template.xlsx"'
    return response


@require_GET
def import_format(request: HttpRequest) -> HttpResponse:
    """How to fill in the template: every sheet and column, and the messages."""
    heading, guide = guide_parts()
    return render(request, "exchange/import_format.html", {"heading": heading, "guide": guide})


@require_GET
def export_download(request: HttpRequest) -> HttpResponse:
    """Everything the numbers depend on, for the user's scope, in the format."""
    scope = _scope(request)
    left_out = _left_out(request, scope)
    sheets = exporter.collect(teams=scope, left_out=left_out)
    audit.record_listing(
        request.user, audit.Listing.EXPORT, exporter.cases_exported(scope, left_out)
    )
    stamp = timezone.localdate().isoformat()
    if request.GET.get("format") == "zip":
        response = HttpResponse(exporter.as_zip(sheets), content_type="application/zip")
        name = f"caseload-export-{stamp}.zip"
    else:
        response = HttpResponse(exporter.as_xlsx(sheets), content_type=XLSX)
        name = f"caseload-export-{stamp}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
