"""Calling the case-events API over real HTTP, as a case-management system
would: urllib against the live server."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

from api.models import ApiClient
from api.tokens import token_issue
from caseload.models import Service


@dataclass
class Reply:
    status: int
    body: Any
    headers: Message


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(  # noqa: S310 - the live server on loopback
        base_url + path, data=data, method=method, headers=sent
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - loopback
            content = response.read()
            return Reply(response.status, json.loads(content or b"null"), response.headers)
    except urllib.error.HTTPError as error:
        content = error.read()
        try:
            parsed = json.loads(content or b"null")
        except ValueError:
            parsed = content.decode(errors="replace")
        return Reply(error.code, parsed, error.headers)


def system_with_token(name: str, *services: Service) -> tuple[ApiClient, str]:
    client = ApiClient.objects.create(name=name)
    client.services.set(services)
    return client, token_issue(client=client, by=None).value


def events_path(service: Service, reference: str) -> str:
    return f"/api/v1/services/{service.pk}/cases/{reference}/events"
