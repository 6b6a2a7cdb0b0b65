"""Docker does not run on our machines, so the compose stack is checked here:
every service is present, the app services share one image, and each command
names an entry point that really exists in this code base."""

import importlib
import re
from pathlib import Path

import django
import pytest
import yaml
from celery import Celery
from celery.bin.celery import celery as celery_cli
from django.core.management import get_commands
from gunicorn.config import Config as GunicornConfig

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["migrate", "web", "worker", "beat"]


def check_command(command: list[str]) -> None:
    program, *args = command
    if program == "gunicorn":
        module_name, attribute = args[0].split(":")
        assert callable(getattr(importlib.import_module(module_name), attribute))
        GunicornConfig().parser().parse_args(args)  # every option is gunicorn's
    elif program == "celery":
        assert args[0] == "--app"
        app = importlib.import_module(args[1]).celery_app
        assert isinstance(app, Celery)
        assert args[2] in celery_cli.commands, f"celery has no {args[2]!r} command"
        known = {o for p in celery_cli.commands[args[2]].params for o in p.opts}
        for arg in args[3:]:
            assert not arg.startswith("--") or arg in known, f"celery {args[2]} has no {arg}"
    elif program == "python" and args[0] == "manage.py":
        assert args[1] in get_commands(), f"manage.py has no {args[1]!r} command"
    elif program == "python" and args[0] == "-c":
        compile(args[1], "<healthcheck>", "exec")
    else:
        pytest.fail(f"unknown entry point {command}")


def test_the_stack_has_every_service():
    assert set(SERVICES) >= {"postgres", "redis", "web", "worker", "beat", "mailpit"}


def test_app_services_share_one_image_built_by_the_dockerfile():
    assert (ROOT / "Dockerfile").exists()
    builds = {(SERVICES[name].get("build"), SERVICES[name].get("image")) for name in APP_SERVICES}
    assert builds == {(".", "caseload:latest")}


@pytest.mark.parametrize("name", APP_SERVICES)
def test_each_command_names_a_real_entry_point(name):
    service = SERVICES[name]
    check_command(service["command"])
    healthcheck = service.get("healthcheck", {}).get("test")
    if healthcheck:
        assert healthcheck[0] == "CMD"
        check_command(healthcheck[1:])


def test_the_app_is_configured_for_the_stack_services():
    environment = SERVICES["web"]["environment"]
    assert environment["DATABASE_URL"].startswith("postgres://")
    assert "@postgres:" in environment["DATABASE_URL"]
    assert environment["REDIS_URL"] == "redis://redis:6379/0"
    assert environment["EMAIL_HOST"] == "mailpit"


def test_the_dockerfile_installs_the_lock_file_and_runs_the_web_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install -r requirements/base.txt" in dockerfile
    cmd = re.search(r"^CMD (.+)$", dockerfile, re.MULTILINE).group(1)
    assert yaml.safe_load(cmd) == SERVICES["web"]["command"]
    lock = (ROOT / "requirements" / "base.txt").read_text()
    for package in ("gunicorn==", "celery==", "django==", "psycopg2-binary=="):
        assert package in lock


def test_the_stack_says_which_proxies_it_trusts():
    """Sign-in limits read the client's address; the compose stack has no
    proxy in front, so it trusts none (and .env.example says how to)."""
    environment = SERVICES["web"]["environment"]
    assert (environment["TRUSTED_PROXY_COUNT"], environment["TRUSTED_PROXIES"]) == ("0", "")
    example = (ROOT / ".env.example").read_text()
    assert "\nTRUSTED_PROXY_COUNT=" in example and "\nTRUSTED_PROXIES=" in example


def test_django_is_the_pinned_5_2_patch_with_the_latest_security_fixes():
    """Django 5.2 LTS at its latest patch (5.2.20), installed as both locks pin it."""
    pins = {
        re.search(r"^django==(\S+)$", (ROOT / "requirements" / name).read_text(), re.M).group(1)
        for name in ("base.txt", "dev.txt")
    }
    assert pins == {django.__version__}
    assert django.VERSION[:3] >= (5, 2, 20)


def option(command: list[str], name: str) -> int:
    assert name in command, f"{name} missing from {command}"
    return int(command[command.index(name) + 1])


def test_web_processes_are_replaced_after_some_requests_not_all_at_once():
    """A gunicorn worker that read a large upload keeps its memory until it
    exits: each is replaced after a few hundred requests, at different times."""
    command = SERVICES["web"]["command"]
    requests = option(command, "--max-requests")
    jitter = option(command, "--max-requests-jitter")
    assert 100 <= requests <= 2000
    assert requests // 20 <= jitter < requests


def test_task_processes_are_replaced_when_they_grow_or_grow_old():
    """A Celery child that has done a large import is replaced after it (a
    child of a few hundred MB at most), and every child after many tasks."""
    command = SERVICES["worker"]["command"]
    kilobytes = option(command, "--max-memory-per-child")
    assert 200_000 <= kilobytes <= 600_000
    assert 100 <= option(command, "--max-tasks-per-child") <= 10_000
