"""The rate limit: each token may make API_RATE_LIMIT requests a minute,
counted in the database (a row per token and minute, added to by one
INSERT … ON CONFLICT), so that every web process counts the same."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from api.models import ApiRequestCount, ApiToken


def count_request(token: ApiToken, now: datetime.datetime | None = None) -> int | None:
    """Count a request of `token` in this minute. None if it is within the
    limit, else the seconds until the next minute begins."""
    now = now or timezone.now()
    minute = now.replace(second=0, microsecond=0)
    table = connection.ops.quote_name(ApiRequestCount._meta.db_table)
    minute_value = ApiRequestCount._meta.get_field("minute").get_db_prep_value(minute, connection)
    with connection.cursor() as cursor:
        # One statement: two processes counting at once both count.
        cursor.execute(
            f"INSERT INTO {table} (token_id, minute, count) VALUES (%s, %s, 1) "  # noqa: S608 - our table
            "ON CONFLICT (token_id, minute) DO UPDATE SET count = "
            f"{table}.count + 1 RETURNING count",
            [token.pk, minute_value],
        )
        (count,) = cursor.fetchone()
    if count <= settings.API_RATE_LIMIT:
        return None
    return max(1, 60 - now.second)
