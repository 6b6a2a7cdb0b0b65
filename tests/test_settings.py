"""Settings come from the environment and fail loudly on values we cannot use;
production settings pass Django's deployment check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-0123456789abcdefghijkl",
    "ALLOWED_HOSTS": "caseload.example.org",
    "DATABASE_URL": "postgres://caseload:secret@db.example.org:5432/caseload",
    "REDIS_URL": "redis://redis.example.org:6379/0",
}


def run_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """Run manage.py with exactly these settings (no inherited DJANGO_/DEBUG values)."""
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "PYTHONPATH")}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**keep, "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


ENTRA_TENANT = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
ENTRA = {
    "OIDC_RP_CLIENT_ID": "caseload-client",
    "OIDC_RP_CLIENT_SECRET": "a-secret",
    "OIDC_ENTRA_TENANT_ID": ENTRA_TENANT,
}


def test_production_settings_pass_the_deploy_check():
    result = run_with(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"SECRET_KEY": ""}, "SECRET_KEY must be set"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS must list"),
        ({"DEBUG": "maybe"}, "DEBUG must be true or false"),
        (
            {"DATABASE_URL": "mysql://db/caseload"},
            "DATABASE_URL must be a postgres:// or sqlite://",
        ),
        ({"DATABASE_URL": "not a url"}, "DATABASE_URL is not a database URL"),
        ({"REDIS_URL": "http://redis:6379"}, "REDIS_URL must be a redis://"),
        ({"EMAIL_PORT": "twenty-five"}, "EMAIL_PORT must be a whole number"),
        ({"SECURE_HSTS_SECONDS": "-1"}, "SECURE_HSTS_SECONDS must be at least 0"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT must be at least 0"),
        ({"TRUSTED_PROXIES": "proxy.example.org"}, "TRUSTED_PROXIES must list addresses"),
        ({"TRUSTED_PROXIES": "10.0.0.2", "TRUSTED_PROXY_COUNT": "1"}, "not both"),
        # Below the longest task's time limit, a running task would be handed out twice.
        ({"CELERY_VISIBILITY_TIMEOUT": "120"}, "CELERY_VISIBILITY_TIMEOUT must be at least 301"),
        ({"NOTIFY_API_KEY": "not-a-key"}, "NOTIFY_API_KEY must be a Notify API key"),
        (
            {
                "NOTIFY_API_KEY": "caseload-"
                + "-".join(["0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"] * 2)
            },
            "NOTIFY_TEMPLATE_ID must be set with NOTIFY_API_KEY",
        ),
        # Signing in with an identity provider: all of it, or none.
        ({"OIDC_RP_CLIENT_ID": "caseload"}, "OIDC_RP_CLIENT_SECRET must be set"),
        (
            {"OIDC_RP_CLIENT_ID": "caseload", "OIDC_RP_CLIENT_SECRET": "s"},
            "OIDC_OP_ISSUER, OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_TOKEN_ENDPOINT, "
            "OIDC_OP_JWKS_ENDPOINT must be set",
        ),
        ({"OIDC_ENTRA_TENANT_ID": ENTRA_TENANT}, "OIDC_RP_CLIENT_ID must be set"),
        ({**ENTRA, "OIDC_ENTRA_TENANT_ID": "northshire"}, "OIDC_ENTRA_TENANT_ID must be"),
        ({**ENTRA, "OIDC_OP_LOGOUT_ENDPOINT": "http://idp.example/x"}, "must be an https://"),
        ({**ENTRA, "OIDC_RP_SIGN_ALGO": "HS256"}, "OIDC_RP_SIGN_ALGO must be RS256"),
        ({**ENTRA, "OIDC_RECHECK_MINUTES": "0"}, "OIDC_RECHECK_MINUTES must be at least 1"),
        ({"LOCAL_SIGN_IN": "false"}, "LOCAL_SIGN_IN=false needs an identity provider"),
    ],
)
def test_bad_settings_stop_the_application_with_a_clear_message(change, message):
    result = run_with({**PRODUCTION, **change}, "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_the_embedded_default_needs_nothing_set():
    result = run_with({"DEBUG": "true"}, "check")
    assert result.returncode == 0, result.stderr


def test_debug_defaults_to_off_so_a_forgotten_setting_is_safe():
    result = run_with({}, "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("0", False), ("Yes", True)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG", not expected) is expected


def test_env_helpers_refuse_what_they_cannot_read(monkeypatch):
    monkeypatch.setenv("FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="FLAG must be true or false"):
        env_bool("FLAG", False)
    monkeypatch.setenv("COUNT", "3.5")
    with pytest.raises(ImproperlyConfigured, match="COUNT must be a whole number"):
        env_int("COUNT", 1)
    monkeypatch.setenv("HOSTS", " a.example , ,b.example ")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]


def settings_as_read_with(env: dict[str, str], expression: str) -> str:
    result = run_with(env, "shell", "-c", f"from django.conf import settings; print({expression})")
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def test_sqlite_takes_its_write_lock_up_front():
    options = settings_as_read_with({"DEBUG": "true"}, "settings.DATABASES['default']['OPTIONS']")
    assert "'transaction_mode': 'IMMEDIATE'" in options
    assert "journal_mode=WAL" in options


def test_tasks_run_in_process_without_a_broker_and_on_redis_with_one():
    expression = "(settings.CELERY_TASK_ALWAYS_EAGER, settings.CELERY_BROKER_URL)"
    assert settings_as_read_with({"DEBUG": "true"}, expression) == "(True, 'memory://')"
    with_redis = {"DEBUG": "true", "REDIS_URL": "redis://127.0.0.1:6379/3"}
    assert settings_as_read_with(with_redis, expression) == "(False, 'redis://127.0.0.1:6379/3')"


def test_ci_runs_on_postgresql_and_redis():
    """Under CI the suite must not quietly fall back to the embedded defaults."""
    if os.environ.get("CI", "").lower() != "true":
        pytest.skip("only checked under CI")
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.REDIS_URL.startswith("redis://")


def test_sign_in_with_a_provider_is_off_unless_configured():
    assert settings_as_read_with(PRODUCTION, "settings.OIDC_ENABLED") == "False"


def test_an_entra_tenant_fills_the_endpoints_and_pins_its_issuer():
    # Empty values (as a copied .env.example leaves them) keep the tenant's.
    env = {**PRODUCTION, **ENTRA, "LOCAL_SIGN_IN": "false", "OIDC_OP_ISSUER": ""}
    expression = (
        "(settings.OIDC_ENABLED, settings.LOCAL_SIGN_IN, settings.OIDC_OP_ISSUER, "
        "settings.OIDC_OP_AUTHORIZATION_ENDPOINT, settings.OIDC_OP_LOGOUT_ENDPOINT, "
        "settings.OIDC_PROVIDER_NAME, "
        "settings.CONTENT_SECURITY_POLICY['DIRECTIVES']['form-action'])"
    )
    base = f"https://login.microsoftonline.com/{ENTRA_TENANT}"
    assert settings_as_read_with(env, expression) == str(
        (
            True,
            False,
            f"{base}/v2.0",
            f"{base}/oauth2/v2.0/authorize",
            f"{base}/oauth2/v2.0/logout",
            "Microsoft",
            ["'self'", "https://login.microsoftonline.com"],
        )
    )
    result = run_with(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr
