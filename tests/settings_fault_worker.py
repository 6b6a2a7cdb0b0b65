"""Settings of the Celery worker that the fault tests kill: a task whose
worker died goes back to the queue after 2 seconds, and the worker looks for
such tasks every second (production: five and a half minutes, and every minute)."""

from tests.settings import *  # noqa: F403

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "visibility_timeout": 2,
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
    # A worker killed while it held the restore lock frees it this soon.
    "unacked_mutex_expire": 3,
}
