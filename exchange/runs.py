"""Imports from the browser: the upload is checked at once (the preview) and
written when confirmed, by a Celery task that reports its progress.

A run being written is held by its worker for as long as that worker lives:
on PostgreSQL by an advisory lock on the worker's database session, which
PostgreSQL lets go when the process dies (docs/adr/0020). The every-minute
sweep takes up a run that waits, or whose worker died, and after
MAX_ATTEMPTS starts gives up and marks it failed. The stored file (it holds
case labels) is emptied as soon as a run has ended, whichever way."""

from __future__ import annotations

import contextlib
import datetime
import gc
import logging
from collections.abc import Iterator

from celery import Task, current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from caseload import access, services
from caseload.models import ImportRun, Team
from caseload.services import RuleBroken
from exchange import importer
from exchange.outcome import Outcome
from exchange.reader import FileRefused, read

logger = logging.getLogger(__name__)
ERRORS_KEPT = 1000
MAX_ATTEMPTS = 3  # starts of a run whose worker keeps dying, before it is marked failed
PREVIEW_HOURS = 24  # a preview not confirmed by then expires, with its file
# The advisory locks of import runs: this number plus the run's id.
LOCK_BASE = 0x1A4D_0000_0000
LARGE_FILE_ROWS = 10_000  # after a file this long, memory is handed back at once
TIME_LIMIT = 60 * 60  # seconds a run's worker may write it for (exchange.tasks)

Status = ImportRun.Status
STOPPED = (
    "The import stopped {attempts} times before it finished (the server writing it stopped). "
    "Nothing was written. Upload the file again to import it."
)
TOO_LONG = "The import took too long and was stopped. Nothing was written."
BROKE = (
    "The import failed because of a fault in Caseload. Nothing was written. Upload the file "
    "again, or ask the Caseload administrator to look at the logs."
)


class Superseded(Exception):
    """The run is no longer this worker's: its writes are rolled back."""


def limits() -> dict[str, int]:
    return {
        "max_rows": settings.IMPORT_MAX_ROWS,
        "max_bytes": settings.IMPORT_MAX_MEGABYTES * 1024 * 1024,
    }


def _summary(outcome: Outcome) -> dict:
    return {
        "counts": outcome.rows,
        "errors": [list(e) for e in outcome.errors[:ERRORS_KEPT]],
        "error_count": len(outcome.errors),
        "notes": outcome.notes,
        "new_with_email": outcome.new_with_email,
    }


def import_preview(
    *, user: AbstractBaseUser, name: str, content: bytes, team_ids: list[int] | None
) -> ImportRun:
    """Check an uploaded file and keep it for confirming. A file that cannot
    be read at all raises RuleBroken; row errors are kept on the run."""
    try:
        book = read(name, content, **limits())
        outcome = importer.run(book, dry_run=True, teams=team_ids, by=access.person_of(user))
    except FileRefused as error:
        raise RuleBroken(str(error)) from None
    run = ImportRun.objects.create(
        uploaded_by=user,
        team_ids=team_ids,
        file_name=name[:200],
        # Kept only while it waits to be confirmed: it holds case labels.
        content=content if outcome.valid else b"",
        row_count=book.row_count,
        status=Status.PREVIEWED if outcome.valid else Status.INVALID,
        summary=_summary(outcome),
    )
    _hand_back_memory(run.row_count)
    return run


def _hand_back_memory(rows: int) -> None:
    """After a large file, a full collection. What the import held is freed
    as soon as it ends; but the interpreter keeps a few objects of each kind
    for reuse, scattered through the memory the rows used, and they keep that
    memory from going back to the system until the next full collection,
    which the web and Celery workers make rarely (ADR 0013)."""
    if rows >= LARGE_FILE_ROWS:
        gc.collect()


def import_confirm(*, run: ImportRun, invite: bool = False) -> ImportRun:
    """Queue a previewed import; the task writes it, and with `invite` sends
    the new people it makes an invitation to set their password."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().defer("content").get(pk=run.pk)
        if run.status == Status.EXPIRED:
            raise RuleBroken(
                f"This check is more than {PREVIEW_HOURS} hours old and its file has been "
                "deleted. Upload the file again."
            )
        if run.status != Status.PREVIEWED:
            raise RuleBroken("This import has already been confirmed, or needs a new upload.")
        run.status, run.invite = Status.QUEUED, invite
        run.save(update_fields=["status", "invite"])
        transaction.on_commit(lambda: _apply_task().delay(run.pk), robust=True)
    return run


def _apply_task() -> Task:
    """The task that writes a confirmed run (exchange.tasks), found by its
    name: that module imports this one. The app registers it as it starts."""
    return current_app.tasks["caseload.apply_import"]


@contextlib.contextmanager
def _held(run_id: int) -> Iterator[bool]:
    """Whether this process may write the run: on PostgreSQL, whether it got
    the run's advisory lock, held on this database session until the end of
    the block or until the process dies. Other databases (SQLite, where the
    tasks run in the web process) have no such lock: always."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_BASE + run_id])
        held = cursor.fetchone()[0]
    try:
        yield held
    finally:
        if held:
            # Had the session been lost, the lock would have gone with it.
            with contextlib.suppress(DatabaseError), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_BASE + run_id])


def _worker_gone(run: ImportRun) -> bool:
    """A run found `running` by a process that holds it: on PostgreSQL its
    worker has died (it would hold the lock). Elsewhere, only once it has
    run for longer than the task may."""
    if connection.vendor == "postgresql":
        return True
    limit = datetime.timedelta(seconds=TIME_LIMIT)
    return run.started_at is None or run.started_at < timezone.now() - limit


def _end(run_id: int, attempt: int, status: str, **fields) -> bool:  # type: ignore[no-untyped-def]
    """End a run this worker holds, and delete its file. False if the run is
    no longer this attempt's."""
    return bool(
        ImportRun.objects.filter(pk=run_id, status=Status.RUNNING, attempts=attempt).update(
            status=status, content=b"", finished_at=timezone.now(), **fields
        )
    )


def _start(run_id: int) -> ImportRun | str:
    """Take a waiting run, or one whose worker died, for this worker: the run,
    or its status if there is nothing to write."""
    with transaction.atomic():
        run = ImportRun.objects.select_for_update().defer("content").filter(pk=run_id).first()
        if run is None:
            return "gone"
        if run.status == Status.RUNNING and not _worker_gone(run):
            return run.status
        if run.status not in (Status.QUEUED, Status.RUNNING):
            return run.status
        if run.attempts >= MAX_ATTEMPTS:
            logger.error("Import %s stopped %s times: marked failed", run_id, run.attempts)
            _end(run_id, run.attempts, Status.FAILED, failure=STOPPED.format(attempts=run.attempts))
            return Status.FAILED
        if run.status == Status.RUNNING:
            logger.warning("Import %s: its worker died; taken up again", run_id)
        run.status, run.attempts, run.started_at = Status.RUNNING, run.attempts + 1, timezone.now()
        run.rows_done = 0
        run.save(update_fields=["status", "attempts", "started_at", "rows_done"])
    return run


def import_apply(run_id: int) -> str:
    """Write a confirmed import. Safe to run twice, or at once in two places:
    one process holds a run at a time, and its writes and its "done" are one
    transaction."""
    with _held(run_id) as held:
        if not held:
            return "taken"  # its worker is writing it
        run = _start(run_id)
        if isinstance(run, str):
            return run
        try:
            return _write(run)
        finally:
            _hand_back_memory(run.row_count)


def _write(run: ImportRun) -> str:
    run_id, attempt = run.pk, run.attempts
    by = access.person_of(run.uploaded_by)
    mine = ImportRun.objects.filter(pk=run_id, status=Status.RUNNING, attempts=attempt)

    def progress(done: int) -> None:
        mine.update(rows_done=min(done, run.row_count))

    def written(outcome: Outcome) -> None:
        # In the import's own transaction: done, and the file deleted, with
        # the records it wrote or not at all.
        summary = {**_summary(outcome), "teams": _teams_named(outcome.teams)}
        if run.invite:
            # Queued in the outbox with the import: sent once it is written.
            summary["invited"] = services.people_invite(people=outcome.new_people, by=by)
        done = mine.update(
            status=Status.DONE,
            summary=summary,
            rows_done=run.row_count,
            content=b"",
            finished_at=timezone.now(),
        )
        if not done:
            raise Superseded

    try:
        content = ImportRun.objects.values_list("content", flat=True).get(pk=run_id)
        book = read(run.file_name, bytes(content), **limits())
        del content
        outcome = importer.run(
            book,
            dry_run=False,
            teams=run.team_ids,
            by=by,
            progress=progress,
            written=written,
        )
    except Superseded:
        return "taken"
    except DatabaseError:
        # The database went away, or refused for a moment: the run stays
        # `running`, and the sweep takes it up again once this lock is gone.
        logger.exception("Import %s: database error, left for the sweep", run_id)
        raise
    except SoftTimeLimitExceeded:
        logger.exception("Import %s took too long", run_id)
        _end(run_id, attempt, Status.FAILED, failure=TOO_LONG)
        return Status.FAILED
    except FileRefused as error:
        _end(run_id, attempt, Status.FAILED, failure=f"{error} Nothing was written.")
        return Status.FAILED
    except Exception:
        logger.exception("Import %s failed", run_id)
        _end(run_id, attempt, Status.FAILED, failure=BROKE)
        return Status.FAILED
    if outcome.applied:
        return Status.DONE
    # Records have changed since the preview: nothing was written.
    _end(run_id, attempt, Status.INVALID, summary=_summary(outcome), rows_done=run.row_count)
    return Status.INVALID


def _teams_named(teams: list[tuple[str, str]]) -> list[list]:
    """The teams the file's teams sheet names, to link to after the import."""
    names = set(teams)
    return [
        [team.pk, team.name]
        for team in Team.objects.select_related("service").order_by("name")
        if (team.service.name, team.name) in names
    ]


def apply_queued() -> int:
    """The sweep, every minute: imports confirmed while the broker was away,
    and imports whose worker died (taken up again, or failed at last). Runs
    a worker is writing are left to it. Returns how many it took up."""
    taken = 0
    waiting = ImportRun.objects.filter(status__in=(Status.QUEUED, Status.RUNNING))
    for run_id in list(waiting.order_by("pk").values_list("pk", flat=True)):
        try:
            status = import_apply(run_id)
        except Exception:
            logger.exception("The sweep could not write import %s", run_id)
            continue
        if status in (Status.DONE, Status.INVALID, Status.FAILED):
            taken += 1
    return taken


def expire_previews() -> int:
    """Previews never confirmed, PREVIEW_HOURS on: their files are deleted."""
    now = timezone.now()
    return ImportRun.objects.filter(
        status=Status.PREVIEWED, created_at__lt=now - datetime.timedelta(hours=PREVIEW_HOURS)
    ).update(status=Status.EXPIRED, content=b"", finished_at=now)
