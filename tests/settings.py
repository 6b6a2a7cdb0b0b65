"""The real settings, as production reads them, with what a test run needs.

The environment still decides the database (DATABASE_URL: PostgreSQL in CI,
SQLite otherwise) and the broker (REDIS_URL).
"""

import os
from urllib.parse import urlsplit

# Under pytest-xdist each worker process (gw0, gw1…) has a test database of
# its own; it takes a Redis database of its own too, next to REDIS_URL's, so
# that no worker's Celery tasks are ever taken by another's.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if _worker.startswith("gw") and os.environ.get("REDIS_URL"):
    _redis = urlsplit(os.environ["REDIS_URL"])
    _number = (int(_redis.path.strip("/") or 0) + int(_worker[2:])) % 16
    os.environ["REDIS_URL"] = _redis._replace(path=f"/{_number}").geturl()

os.environ.setdefault("SECRET_KEY", "test-suite-only-" + "k" * 48)
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Browsers in the tests talk plain HTTP to the live server.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SECURE_COOKIES", "false")

from config.settings import *  # noqa: E402, F403 - after the environment it reads

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Serve static files from the source folders: the suite does not run collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
