"""Redis, the broker, which carries only nudges (ADR 0019).

What a task must do is first a row in the database, written with its cause;
the task is only sent to get it done sooner, after the commit. If Redis is
down or hung the nudge is dropped at once (a short timeout, no retry) and the
sweep that beat sends every minute does the work once Redis is back."""

from __future__ import annotations

import logging

import redis
from celery import Task, current_app
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)


def nudge(task: Task | str, *args: object) -> bool:
    """Send `task` (or the task registered under that name) now if the broker
    takes it at once. Never raises: returns whether it was sent."""
    if isinstance(task, str):
        # By name: the tasks modules import the modules that nudge them. A web
        # process has the apps' task modules imported when first asked.
        if task not in current_app.tasks:
            current_app.loader.import_default_modules()
        task = current_app.tasks[task]
    try:
        task.apply_async(args, retry=False)
    except Exception as error:  # whatever the broker's failure, the sweep does the work
        logger.warning("%s not sent (%s): its sweep will do the work", task.name, error)
        return False
    return True


def redis_client(timeout: float | None = None) -> redis.Redis:
    """A client of REDIS_URL that gives up after `timeout` seconds
    (REDIS_TIMEOUT) and does not try again."""
    timeout = settings.REDIS_TIMEOUT if timeout is None else timeout
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def redis_answers() -> bool:
    """Whether Redis answers a ping within REDIS_TIMEOUT."""
    client = redis_client()
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()
