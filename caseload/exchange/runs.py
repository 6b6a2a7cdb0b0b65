"""Imports from the browser: the upload is checked at once (the preview) and
written when confirmed, by a Celery task that reports its progress."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from caseload import access
from caseload.exchange import importer
from caseload.exchange.reader import FileRefused, Workbook, read
from caseload.models import ImportRun, Team
from caseload.services import RuleBroken

logger = logging.getLogger(__name__)
ERRORS_KEPT = 1000


def limits() -> dict[str, int]:
    return {
        "max_rows": settings.IMPORT_MAX_ROWS,
        "max_bytes": settings.IMPORT_MAX_MEGABYTES * 1024 * 1024,
    }


def _summary(outcome: importer.Outcome) -> dict:
    return {
        "counts": outcome.rows,
        "errors": [list(e) for e in outcome.errors[:ERRORS_KEPT]],
        "error_count": len(outcome.errors),
        "notes": outcome.notes,
    }


def import_preview(
    *, user: AbstractBaseUser, name: str, content: bytes, team_ids: list[int] | None
) -> ImportRun:
    """Check an uploaded file and keep it for confirming. A file that cannot
    be read at all raises RuleBroken; row errors are kept on the run."""
    try:
        book = read(name, content, **limits())
    except FileRefused as error:
        raise RuleBroken(str(error)) from None
    outcome = importer.run(book, dry_run=True, teams=team_ids, by=access.person_of(user))
    return ImportRun.objects.create(
        uploaded_by=user,
        team_ids=team_ids,
        file_name=name[:200],
        # Kept only while it waits to be confirmed: it holds case labels.
        content=content if outcome.valid else b"",
        row_count=book.row_count,
        status=ImportRun.Status.PREVIEWED if outcome.valid else ImportRun.Status.INVALID,
        summary=_summary(outcome),
    )


def import_confirm(*, run: ImportRun) -> ImportRun:
    """Queue a previewed import; the task writes it."""
    from caseload.tasks import apply_import

    with transaction.atomic():
        run = ImportRun.objects.select_for_update().get(pk=run.pk)
        if run.status != ImportRun.Status.PREVIEWED:
            raise RuleBroken("This import has already been confirmed, or needs a new upload.")
        run.status = ImportRun.Status.QUEUED
        run.save(update_fields=["status"])
        transaction.on_commit(lambda: apply_import.delay(run.pk), robust=True)
    return run


def import_apply(run_id: int) -> str:
    """Write a confirmed import. Safe to run twice: a run is taken once."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update(skip_locked=True).filter(pk=run_id).first()
        if run is None or run.status != ImportRun.Status.QUEUED:
            return run.status if run else "taken"
        run.status = ImportRun.Status.RUNNING
        run.save(update_fields=["status"])

    def progress(done: int, total: int) -> None:
        ImportRun.objects.filter(pk=run_id).update(rows_done=done)

    try:
        book = read(run.file_name, bytes(run.content), **limits())
        outcome = importer.run(
            book,
            dry_run=False,
            teams=run.team_ids,
            by=access.person_of(run.uploaded_by),
            progress=progress,
        )
    except Exception:
        logger.exception("Import %s failed", run_id)
        ImportRun.objects.filter(pk=run_id).update(
            status=ImportRun.Status.FAILED, finished_at=timezone.now()
        )
        raise
    # Records may have changed since the preview: then nothing was written.
    status = ImportRun.Status.DONE if outcome.applied else ImportRun.Status.INVALID
    summary = _summary(outcome)
    if outcome.applied:
        summary["teams"] = _teams_named(book)
    ImportRun.objects.filter(pk=run_id).update(
        status=status,
        summary=summary,
        rows_done=book.row_count,
        content=b"",
        finished_at=timezone.now(),
    )
    return status


def _teams_named(book: Workbook) -> list[list]:
    """The teams the file's teams sheet names, to link to after the import."""
    sheet = book.sheets.get("teams")
    names = {
        (str(row.cells.get("service") or "").strip(), str(row.cells.get("team") or "").strip())
        for row in (sheet.rows if sheet else [])
    }
    return [
        [team.pk, team.name]
        for team in Team.objects.select_related("service").order_by("name")
        if (team.service.name, team.name) in names
    ]


def apply_queued() -> int:
    """The sweep: imports confirmed while the broker was away."""
    queued = list(
        ImportRun.objects.filter(status=ImportRun.Status.QUEUED).values_list("pk", flat=True)
    )
    for run_id in queued:
        import_apply(run_id)
    return len(queued)
