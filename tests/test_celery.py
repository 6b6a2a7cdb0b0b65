"""Celery on a real Redis with a real worker; in-process without a broker."""

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from caseload.tasks import probe
from config.celery import app


@override_settings(REDIS_URL="")
def test_without_a_broker_tasks_run_in_process(db, capsys):
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # as settings.py sets it when REDIS_URL is empty
    try:
        assert probe.delay().get(timeout=1) == "ok"
        call_command("check_services")
    finally:
        app.conf.task_always_eager = eager
    assert "tasks: ok (run in-process" in capsys.readouterr().out


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_answers_through_redis(capsys):
    with start_worker(app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
        assert probe.delay().get(timeout=20) == "ok"
        call_command("check_services", "--timeout", "20")
    out = capsys.readouterr().out
    assert "database: ok" in out
    assert "broker: ok" in out
    assert "worker: ok" in out


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_check_services_fails_loudly_when_no_worker_answers():
    try:
        with pytest.raises(CommandError, match="worker: no answer within 1 s"):
            call_command("check_services", "--timeout", "1")
    finally:
        app.control.purge()  # drop the unanswered probe
