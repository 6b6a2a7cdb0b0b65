"""The Celery app, configured from Django settings (the CELERY_ prefix)."""

import os

from celery import Celery
from celery.signals import worker_init

from config.processes import tune_garbage_collection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("caseload")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _tune(**_: object) -> None:
    # In the worker's main process, before its pool forks: children inherit it.
    tune_garbage_collection()
