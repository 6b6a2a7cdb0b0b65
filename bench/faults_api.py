"""A fault at the case-events API: a burst of repeated events. Each event id
is sent many times at once, as a case-management system retrying after
time-outs would; each must be applied once, and every copy answered alike."""

from __future__ import annotations

import datetime
import json
import secrets
import threading
import time
import urllib.error
import urllib.request

from faults_browser import Answer
from faults_run import Row, Run

COPIES = 20  # of each event, sent at once
REFERENCE = "API-FLT-" + secrets.token_hex(3).upper()


def _token() -> tuple[int, str]:
    """A system with a token for Children's Social Care, made for this run."""
    from api.models import ApiClient
    from api.tokens import token_issue
    from caseload.models import Service

    service = Service.objects.get(name="Children's Social Care")
    client, _ = ApiClient.objects.get_or_create(name="Fault run")
    client.services.add(service)
    return service.pk, token_issue(client=client, by=None).value


def _post(address: str, path: str, token: str, event: dict) -> tuple[Answer, str]:
    request = urllib.request.Request(
        f"http://{address}{path}",
        data=json.dumps(event).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode(errors="replace")
    except OSError as error:
        return Answer(0, "", "", time.monotonic() - started, str(error)), ""
    return Answer(status, "", body, time.monotonic() - started), body


def repeated_events(run: Run) -> Row:
    """Three events (create, change, close a case), each sent COPIES times at once."""
    from caseload.models import AccessRecord, Case

    row = Row(f"repeated case events ({COPIES} copies of each, at once)")
    service_id, token = _token()
    path = f"/api/v1/services/{service_id}/cases/{REFERENCE}/events"
    now = datetime.datetime.now(datetime.UTC)
    events = [
        {"type": "case", "label": "Fault run", "case_type": "cin", "team": "Child Protection"},
        {"type": "case", "label": "Fault run, changed", "people_count": 2},
        {"type": "case", "closed_on": now.date().isoformat()},
    ]
    answers: list[Answer] = []
    for n, fields in enumerate(events):
        event = {
            "event_id": f"{REFERENCE}-{n}",
            "occurred_at": (now - datetime.timedelta(minutes=10 - n)).isoformat(),
            **fields,
        }
        barrier = threading.Barrier(COPIES)
        bodies: list[str] = []

        def send(
            event: dict = event, barrier: threading.Barrier = barrier, bodies: list = bodies
        ) -> None:
            barrier.wait()
            answer, body = _post(run.stack.address, path, token, event)
            answers.append(answer)
            bodies.append(body)

        threads = [threading.Thread(target=send, daemon=True) for _ in range(COPIES)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        if len(set(bodies)) != 1:
            row.failures.append(f"event {n} was answered {len(set(bodies))} ways")
    row.count(answers)
    case = Case.objects.filter(reference=REFERENCE).first()
    changes = case.history.count() if case else 0
    audited = AccessRecord.objects.filter(case_reference=REFERENCE).count()
    applied = sum(a.status == 200 for a in answers)
    row.lost = 0 if case is not None and case.status == "closed" else 1
    row.duplicated = max(0, changes - len(events)) + max(0, audited - len(events))
    row.notes.append(
        f"{len(answers)} requests, {applied} answered 200; the case has {changes} changes in its "
        f"history and {audited} audit rows (one each expected for {len(events)} events)"
    )
    return row
