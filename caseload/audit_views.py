"""The access audit, for administrators: search by person or case, export.
Reading it writes no audit row: it shows only what the audit holds, to
administrators, and a row a view would move the pages being read."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from caseload import access
from caseload.models import AccessRecord, Case
from caseload.tables import Column, Table, download


def _search(
    request: HttpRequest,
) -> tuple[QuerySet[AccessRecord], dict[str, str], set[str]]:
    """The rows found, the search terms, and the references of restricted
    cases the administrator is not named on: shown as "Restricted case", and
    not found by a search for them."""
    if not access.is_administrator(request.user):
        raise PermissionDenied("The audit is for administrators.")
    terms = {
        "person": request.GET.get("person", "").strip()[:150],
        "case": request.GET.get("case", "").strip()[:40],
    }
    records = AccessRecord.objects.select_related("subject")
    if terms["person"]:
        person = terms["person"]
        records = records.filter(
            Q(username__iexact=person)
            | Q(user__person__full_name__icontains=person)
            | Q(subject__full_name__icontains=person)
            | Q(subject__user__username__iexact=person)
        )
    hidden = access.hidden_references(request.user)
    if terms["case"]:
        # Rows about the case, and listings that showed it (they hold ids).
        if terms["case"].upper() in hidden:
            records = records.none()
        cases = Case.objects.filter(reference__iexact=terms["case"]).values_list("pk", flat=True)
        records = records.filter(
            Q(case_reference__iexact=terms["case"]) | Q(case_ids__holds_any_of=list(cases))
        )
    return records.order_by("-at", "-pk"), terms, hidden


def _reference(record: AccessRecord, hidden: set[str]) -> str:
    return access.RESTRICTED if record.case_reference.upper() in hidden else record.case_reference


@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    records, terms, hidden = _search(request)
    page = Paginator(records, 50).get_page(request.GET.get("page"))
    for record in page:
        record.shown_reference = _reference(record, hidden)
    query = "&".join(f"{k}={v}" for k, v in terms.items() if v)
    return render(
        request,
        "caseload/audit_list.html",
        {
            "page": page,
            "terms": terms,
            "query": query,
            "retention_years": settings.AUDIT_RETENTION_YEARS,
        },
    )


@require_GET
def audit_download(request: HttpRequest) -> HttpResponse:
    records, _, hidden = _search(request)
    table = Table(
        "audit",
        "Access audit",
        [
            Column("When (UTC)"),
            Column("Who"),
            Column("Action"),
            Column("Record"),
            Column("Record id", "integer"),
            Column("Case reference"),
            Column("Whose record"),
            Column("Cases listed", "integer"),
            Column("Case ids"),
        ],
        [
            [
                r.at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S"),
                r.username or "system",
                r.get_action_display(),
                r.get_listing_display() if r.listing else r.get_record_type_display(),
                r.record_id,
                _reference(r, hidden),
                r.subject.full_name if r.subject else "",
                r.cases_listed,
                " ".join(str(pk) for pk in r.case_ids),
            ]
            for r in records[:100_000]
        ],
    )
    return download([table], "caseload-audit", "csv")
