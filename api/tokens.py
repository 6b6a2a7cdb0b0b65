"""Tokens of the systems that send case events: made, rotated and revoked by
administrators, the secret shown once and kept only as its SHA-256 hash.

A token reads `cla_<prefix>_<secret>`: the prefix finds its row (it is not
secret, and administrators see it), the secret is 256 random bits.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from api.models import ApiClient, ApiToken

# A token lasts a year unless the administrator says otherwise.
LIFETIME = datetime.timedelta(days=365)
# After a rotation the old token keeps working this long, so that the
# system can be given the new one without a gap.
ROTATION_OVERLAP = datetime.timedelta(hours=24)

_FORMAT = re.compile(r"^cla_([0-9a-f]{10})_([A-Za-z0-9_-]{43})$")


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    """A token just made: `value` is shown once, then only its hash is kept."""

    token: ApiToken
    value: str


def token_issue(
    *,
    client: ApiClient,
    by: AbstractBaseUser | None,
    expires_at: datetime.datetime | None = None,
) -> NewToken:
    prefix = secrets.token_hex(5)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        client=client,
        prefix=prefix,
        secret_hash=_hash(secret),
        created_by=by if by is not None and by.is_authenticated else None,
        expires_at=expires_at or timezone.now() + LIFETIME,
    )
    return NewToken(token, f"cla_{prefix}_{secret}")


def token_rotate(
    *,
    client: ApiClient,
    by: AbstractBaseUser | None,
    overlap: datetime.timedelta = ROTATION_OVERLAP,
) -> NewToken:
    """A new token for `client`; its working tokens stop after `overlap`."""
    now = timezone.now()
    with transaction.atomic():
        for old in client.tokens.select_for_update().working(now):
            old.expires_at = min(old.expires_at, now + overlap)
            old.save(update_fields=["expires_at"])
        return token_issue(client=client, by=by)


def tokens_revoke(*, client: ApiClient) -> int:
    """Stop every token of `client` now; returns how many were working."""
    now = timezone.now()
    with transaction.atomic():
        tokens = list(client.tokens.select_for_update().filter(revoked_at__isnull=True))
        for token in tokens:
            token.revoked_at = now
            token.save(update_fields=["revoked_at"])
    return len(tokens)


class TokenRefused(Exception):
    """Why a request's token does not authenticate it."""


def token_authenticate(authorization: str | None) -> ApiToken:
    """The working token an `Authorization: Bearer …` header carries, with
    its client, or TokenRefused saying what is wrong."""
    scheme, _, value = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TokenRefused("Send the token in the header Authorization: Bearer <token>.")
    match = _FORMAT.match(value.strip())
    if match is None:
        raise TokenRefused("The token is not one Caseload issued.")
    prefix, secret = match.groups()
    token = ApiToken.objects.select_related("client").filter(prefix=prefix).first()
    # Compared in constant time; an unknown prefix is refused as a wrong secret.
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        raise TokenRefused("The token is not one Caseload issued.")
    if token.revoked_at is not None:
        raise TokenRefused("The token has been revoked.")
    if token.expires_at <= timezone.now():
        raise TokenRefused("The token has expired.")
    return token
