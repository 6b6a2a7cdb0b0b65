"""Settings for Caseload, read from the environment (see .env.example).

With nothing set, the application runs on its embedded default: an SQLite file
beside manage.py and Celery tasks run in-process. Production sets DEBUG=false,
SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL (PostgreSQL) and REDIS_URL.
"""

import datetime
import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_required, env_str, origins

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", False)

if DEBUG:
    SECRET_KEY = env_str("SECRET_KEY") or "django-insecure-local-development-only"
else:
    SECRET_KEY = env_required("SECRET_KEY", "a long random value, kept secret (DEBUG is off)")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"] if DEBUG else [])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names served (DEBUG is off).")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

COUNCIL_NAME = env_str("COUNCIL_NAME", "Northshire Council")
# Where users report an accessibility problem (the accessibility statement).
ACCESSIBILITY_CONTACT = env_str("ACCESSIBILITY_CONTACT", "caseload-support@northshire.gov.uk")
# The address people use, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in ("http", "https"):
    raise ImproperlyConfigured(f"SITE_URL must start with http:// or https://, not {SITE_URL!r}.")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_forms_gds",
    "axes",
    "simple_history",
    "caseload",
    "weighting",
    "supervision",
    "reports",
    "allocation",
    "exchange",
    "api",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    # Every request of the break-glass superuser, recorded (README).
    "config.middleware.audit_superusers",
    "django.contrib.messages.middleware.MessageMiddleware",
    "config.middleware.session_lifetime",
    # A session signed in with the identity provider is checked with it again
    # every OIDC_RECHECK_MINUTES (a password session never is).
    "caseload.oidc.ProviderSessionRefresh",
    "config.middleware.no_store",
    "config.middleware.log_denials",
    "simple_history.middleware.HistoryRequestMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # 429 to an address that failed to sign in too often (its page gets the
    # headers above).
    "caseload.signin.slow_failing_addresses",
    # Last, as django-axes asks: it answers a locked-out sign-in.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "caseload.backends.PersonBackend",
    # The identity provider's answer (OIDC_* below); does nothing while it is off.
    "caseload.oidc.ProviderBackend",
]
# Five failed sign-ins for the same user name from the same address lock that
# pair out for 30 minutes (ASVS 6.3.1); others at the same address are not.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = datetime.timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A try while locked out is refused unchecked and does not restart the 30
# minutes, so the lockout page's "try again after" holds.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_CALLABLE = "caseload.signin.locked_out"
AXES_VERBOSE = False
# The client's address: the one that connected, unless proxies stand in front.
# Name them by how many there are (TRUSTED_PROXY_COUNT) or by their addresses
# (TRUSTED_PROXIES); X-Forwarded-For is read only as far as they vouch for it.
AXES_CLIENT_IP_CALLABLE = "caseload.signin.client_address"
# The identity provider's answer carries no password to guess: its refusals
# are recorded by caseload.oidc, and never lock anyone out.
AXES_WHITELIST_CALLABLE = "caseload.signin.is_provider_answer"
TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0, minimum=0)
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
for _proxy in TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRUSTED_PROXIES must list addresses or networks (10.0.0.0/8), not {_proxy!r}."
        ) from None
if TRUSTED_PROXIES and TRUSTED_PROXY_COUNT:
    raise ImproperlyConfigured("Set TRUSTED_PROXY_COUNT or TRUSTED_PROXIES, not both.")
# Failed sign-ins from one address, whatever the user names: 30 within 10
# minutes and that address waits 5 minutes before it may try again (429). A
# council office shares one address, so this slows rather than locks; the
# counts come from axes's failure log in the database.
AXES_ENABLE_ACCESS_FAILURE_LOG = True
SIGN_IN_ADDRESS_LIMIT = env_int("SIGN_IN_ADDRESS_LIMIT", 30, minimum=1)
SIGN_IN_ADDRESS_WINDOW = datetime.timedelta(
    minutes=env_int("SIGN_IN_ADDRESS_WINDOW_MINUTES", 10, minimum=1)
)
SIGN_IN_ADDRESS_WAIT = datetime.timedelta(
    minutes=env_int("SIGN_IN_ADDRESS_WAIT_MINUTES", 5, minimum=1)
)

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "caseload.context_processors.frame",
            ],
        },
    },
]

# Database: PostgreSQL in production and CI, SQLite for the embedded first run.
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
try:
    _database = dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL we can use: {error}") from None
if _database["ENGINE"] not in (
    "django.db.backends.postgresql",
    "django.db.backends.sqlite3",
):
    raise ImproperlyConfigured("DATABASE_URL must be a postgres:// or sqlite:// URL.")
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # In-process tasks and the web server write to one file: take the write lock
    # at the start of each transaction and wait for it, instead of failing with
    # "database is locked" half-way through.
    _database["CONN_MAX_AGE"] = 0
    _database["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Each request is one transaction: a page that fails part-way writes nothing.
_database["ATOMIC_REQUESTS"] = True
DATABASES = {"default": _database}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery: Redis when REDIS_URL is set; otherwise tasks run in-process.
# Redis carries only nudges (ADR 0019): whatever must happen is first a row in
# the database, and a sweep does it, so that nothing waits on Redis for long.
# Every Redis client gives up after REDIS_TIMEOUT seconds (a stopped Redis
# refuses at once, a hung one is waited for this long), a task is published
# once or not at all (the next sweep does its work), and no task keeps a
# result but `manage.py check_services`' probe, whose result is read.
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss"):
    raise ImproperlyConfigured(f"REDIS_URL must be a redis:// or rediss:// URL, not {REDIS_URL!r}.")
REDIS_TIMEOUT = 1.0
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = REDIS_TIMEOUT
CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = REDIS_TIMEOUT
CELERY_REDIS_SOCKET_TIMEOUT = REDIS_TIMEOUT
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {"retry_policy": {"max_retries": 1}}
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TIMEZONE = "Europe/London"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# A task's work takes seconds at a council's scale (docs/benchmarks.md); none
# may run longer than five minutes, so that a dead worker's task is soon
# done again (below).
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 4 * 60
CELERY_RESULT_EXPIRES = 24 * 60 * 60
# Redis hands a task not acknowledged within the visibility timeout (its
# worker died) to another worker, looking for such tasks every minute: the
# timeout must exceed the longest task's time limit, and a dead worker's task
# is done again within timeout + a minute + the task's own time (ten minutes).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int(
        "CELERY_VISIBILITY_TIMEOUT", CELERY_TASK_TIME_LIMIT + 30, minimum=CELERY_TASK_TIME_LIMIT + 1
    ),
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 6,
    "socket_connect_timeout": REDIS_TIMEOUT,
    "socket_timeout": REDIS_TIMEOUT,
    # A publish finding no connection fails at once instead of connecting
    # again for seconds (a worker's own connection retries on its own terms).
    "max_retries": 0,
}
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# The day's jobs (reports.daily) fall due at this time each day; a sweep runs
# them for a day whose run beat could not send (reports.run_missed_day).
DAILY_JOBS_AT = datetime.time(3, 15)
# Schedules live in code, in Europe/London time, clear of 01:00-02:00 (the
# clocks change then). Sweeps catch up whatever a nudge or a missed day left.
CELERY_BEAT_SCHEDULE = {
    "send-notifications": {"task": "caseload.send_notifications", "schedule": 60.0},
    # Imports confirmed while the broker was away, or whose worker died.
    "apply-queued-imports": {"task": "caseload.apply_queued_imports", "schedule": 60.0},
    # Import previews never confirmed: their files deleted after a day.
    "expire-import-previews": {"task": "caseload.expire_import_previews", "schedule": 60 * 60.0},
    # Snapshots a big back-dated change left to the job (a small one is
    # recomputed in its own transaction); an idle run is one query.
    "recompute-stale-snapshots": {"task": "reports.recompute_stale_snapshots", "schedule": 60.0},
    "daily-analyses": {
        "task": "reports.daily",
        "schedule": crontab(hour=DAILY_JOBS_AT.hour, minute=DAILY_JOBS_AT.minute),
    },
    "run-missed-day": {"task": "reports.run_missed_day", "schedule": 10 * 60.0},
    # Back-fills whose chunks a dead worker took with it.
    "finish-backfills": {"task": "reports.finish_backfills", "schedule": 60.0},
    "delete-expired-audit": {
        "task": "caseload.delete_expired_audit",
        "schedule": crontab(hour=4, minute=30),
    },
    # Protected time ending soon: its team managers are emailed once. Every
    # hour of the working day, so that mail comes in working hours and a
    # run missed while Redis was away is made up within the hour.
    "remind-reductions-ending": {
        "task": "weighting.remind_reductions_ending",
        "schedule": crontab(hour="7-18", minute=20),
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# An invitation's link to set a password works once, for this long.
PASSWORD_RESET_TIMEOUT = env_int("INVITATION_DAYS", 3, minimum=1) * 24 * 60 * 60
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True
FORMAT_MODULE_PATH = ["caseload.formats"]

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# Admin changes are kept (django-simple-history), never reverted from the history page.
SIMPLE_HISTORY_REVERT_DISABLED = True

CRISPY_ALLOWED_TEMPLATE_PACKS = ["gds"]
CRISPY_TEMPLATE_PACK = "gds"

# Email: printed to the console unless an SMTP host (or GOV.UK Notify) is configured.
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# GOV.UK Notify instead, when its API key is given (caseload/notify.py): one
# email template whose subject is ((subject)) and whose body is ((body)).
NOTIFY_API_KEY = env_str("NOTIFY_API_KEY")
NOTIFY_TEMPLATE_ID = env_str("NOTIFY_TEMPLATE_ID")
NOTIFY_BASE_URL = env_str("NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk")
NOTIFY_KEY_FORMAT = re.compile(r"^.+-[0-9a-f-]{36}-[0-9a-f-]{36}$")
if NOTIFY_API_KEY and not NOTIFY_KEY_FORMAT.match(NOTIFY_API_KEY):
    raise ImproperlyConfigured(
        "NOTIFY_API_KEY must be a Notify API key as Notify shows it: its name, then the "
        "service id and the secret, each 36 characters."
    )
if NOTIFY_API_KEY and not NOTIFY_TEMPLATE_ID:
    raise ImproperlyConfigured(
        "NOTIFY_TEMPLATE_ID must be set with NOTIFY_API_KEY: the id of the Notify email "
        "template whose subject is ((subject)) and body ((body))."
    )
if NOTIFY_API_KEY:
    EMAIL_BACKEND = "caseload.notify.NotifyEmailBackend"
elif EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "caseload@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Signing in with the council's identity provider (OpenID Connect, through
# mozilla-django-oidc; caseload/oidc.py), off unless a client id is set.
# Microsoft Entra ID needs only its tenant id: the endpoints follow from it
# and its issuer is pinned. Any other provider names its issuer and endpoints,
# as its discovery document (/.well-known/openid-configuration) lists them.
OIDC_RP_CLIENT_ID = env_str("OIDC_RP_CLIENT_ID")
OIDC_RP_CLIENT_SECRET = env_str("OIDC_RP_CLIENT_SECRET")
OIDC_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_ENTRA_TENANT_ID = env_str("OIDC_ENTRA_TENANT_ID")
# Entra ID says nothing of whether an email address was verified: its
# addresses are trusted for a first link only when the council says so.
OIDC_ENTRA_TRUST_EMAIL = env_bool("OIDC_ENTRA_TRUST_EMAIL", False)
_ENTRA_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
if OIDC_ENTRA_TENANT_ID and not _ENTRA_UUID.match(OIDC_ENTRA_TENANT_ID.lower()):
    raise ImproperlyConfigured(
        "OIDC_ENTRA_TENANT_ID must be the tenant's id as Entra shows it (a GUID such as "
        f"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0), not {OIDC_ENTRA_TENANT_ID!r}."
    )
_entra = f"https://login.microsoftonline.com/{OIDC_ENTRA_TENANT_ID.lower()}"
# What an Entra tenant fills in; a value set in the environment wins (another
# Microsoft cloud, say).
_ENTRA_DEFAULTS = {
    "OIDC_OP_ISSUER": f"{_entra}/v2.0",
    "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{_entra}/oauth2/v2.0/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": f"{_entra}/oauth2/v2.0/token",
    "OIDC_OP_JWKS_ENDPOINT": f"{_entra}/discovery/v2.0/keys",
    "OIDC_OP_LOGOUT_ENDPOINT": f"{_entra}/oauth2/v2.0/logout",
    "OIDC_PROVIDER_NAME": "Microsoft",
}


def _provider_setting(name: str, default: str = "") -> str:
    if OIDC_ENTRA_TENANT_ID:
        default = _ENTRA_DEFAULTS.get(name, default)
    return env_str(name) or default


OIDC_OP_ISSUER = _provider_setting("OIDC_OP_ISSUER")
OIDC_OP_AUTHORIZATION_ENDPOINT = _provider_setting("OIDC_OP_AUTHORIZATION_ENDPOINT")
OIDC_OP_TOKEN_ENDPOINT = _provider_setting("OIDC_OP_TOKEN_ENDPOINT")
OIDC_OP_JWKS_ENDPOINT = _provider_setting("OIDC_OP_JWKS_ENDPOINT")
# Optional: claims the ID token lacks are read from here (never for Entra,
# whose ID token carries all that is needed).
OIDC_OP_USER_ENDPOINT = _provider_setting("OIDC_OP_USER_ENDPOINT")
# The provider's end_session_endpoint: signing out of Caseload signs out there too.
OIDC_OP_LOGOUT_ENDPOINT = _provider_setting("OIDC_OP_LOGOUT_ENDPOINT")
OIDC_PROVIDER_NAME = _provider_setting("OIDC_PROVIDER_NAME", "your council account")
if OIDC_ENABLED:
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured(
            "OIDC_RP_CLIENT_SECRET must be set with OIDC_RP_CLIENT_ID: the secret the "
            "identity provider gave Caseload's registration."
        )
    _missing = [
        name
        for name in (
            "OIDC_OP_ISSUER",
            "OIDC_OP_AUTHORIZATION_ENDPOINT",
            "OIDC_OP_TOKEN_ENDPOINT",
            "OIDC_OP_JWKS_ENDPOINT",
        )
        if not globals()[name]
    ]
    if _missing:
        raise ImproperlyConfigured(
            f"{', '.join(_missing)} must be set with OIDC_RP_CLIENT_ID (from the provider's "
            "discovery document), or OIDC_ENTRA_TENANT_ID for Microsoft Entra ID."
        )
    for _name in (
        "OIDC_OP_ISSUER",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_LOGOUT_ENDPOINT",
    ):
        _url = globals()[_name]
        if _url and urlsplit(_url).scheme != "https" and not DEBUG:
            raise ImproperlyConfigured(f"{_name} must be an https:// URL, not {_url!r}.")
elif OIDC_ENTRA_TENANT_ID or OIDC_RP_CLIENT_SECRET:
    raise ImproperlyConfigured(
        "OIDC_RP_CLIENT_ID must be set to sign in with an identity provider: the client "
        "(application) id of Caseload's registration there."
    )
OIDC_RP_SIGN_ALGO = env_str("OIDC_RP_SIGN_ALGO") or "RS256"
if OIDC_RP_SIGN_ALGO not in ("RS256", "RS384", "RS512", "ES256", "ES384", "ES512"):
    raise ImproperlyConfigured(
        "OIDC_RP_SIGN_ALGO must be RS256 (or another RS or ES algorithm), "
        f"not {OIDC_RP_SIGN_ALGO!r}."
    )
OIDC_RP_SCOPES = "openid email profile"
OIDC_USE_PKCE = True
OIDC_CREATE_USER = False
OIDC_STORE_ID_TOKEN = True  # for the provider's sign-out (id_token_hint)
OIDC_TIMEOUT = 10
OIDC_CALLBACK_CLASS = "caseload.oidc_views.ProviderCallbackView"
# A session signed in with the provider is checked with it again after this
# long (it asks silently, prompt=none): someone the provider no longer signs
# in (disabled, deleted) is signed out at their next page.
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env_int("OIDC_RECHECK_MINUTES", 15, minimum=1) * 60
# Passwords: with LOCAL_SIGN_IN=false only the break-glass superuser signs in
# with one (at /admin/login/); everyone else signs in with the provider, and
# password links and invitations to set one are refused.
LOCAL_SIGN_IN = env_bool("LOCAL_SIGN_IN", True)
if not LOCAL_SIGN_IN and not OIDC_ENABLED:
    raise ImproperlyConfigured(
        "LOCAL_SIGN_IN=false needs an identity provider (OIDC_RP_CLIENT_ID and its "
        "settings): otherwise nobody but the break-glass superuser could sign in."
    )

# Security. Cookies and redirects to HTTPS default to on unless DEBUG is on.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# The CSRF secret lives in the session (no csrftoken cookie a sibling domain
# could plant); pages carry the token in forms and a meta tag for scripts.
CSRF_USE_SESSIONS = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
if env_bool("BEHIND_TLS_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Sessions end after 30 minutes without a request (requests renew the timer,
# at most once a minute; pages warn two minutes before) and 12 hours after
# signing in at most.
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30, minimum=1) * 60
SESSION_RENEW_SECONDS = 60
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_HOURS", 12, minimum=1) * 60 * 60
X_FRAME_OPTIONS = "DENY"

# The access audit keeps each row this many years; a daily job deletes older ones.
AUDIT_RETENTION_YEARS = env_int("AUDIT_RETENTION_YEARS", 6, minimum=1)

# The case-events API: requests a minute each token may make (docs/api.md).
API_RATE_LIMIT = env_int("API_RATE_LIMIT", 600, minimum=1)

# Imports: the most rows one file may hold, and the largest upload in MB.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 200_000, minimum=1)
IMPORT_MAX_MEGABYTES = env_int("IMPORT_MAX_MEGABYTES", 50, minimum=1)

_provider_origins = (
    origins(OIDC_OP_AUTHORIZATION_ENDPOINT, OIDC_OP_LOGOUT_ENDPOINT) if OIDC_ENABLED else []
)
# No inline script or style anywhere: GOV.UK Frontend's "supported" class is set
# by our own script file, so every component keeps working under this policy.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        # A form's answer may lead to the identity provider: signing out ends
        # the session there, and a page's GET form may meet the recheck.
        "form-action": [SELF, *_provider_origins],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # django-axes tells of every sign-in at INFO; lockouts come at WARNING.
    "loggers": {"axes": {"level": "WARNING"}},
}
