"""WSGI entry point, served by gunicorn in production."""

import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")

# Python's cyclic garbage collector runs after every 700 new container
# objects by default. The pages of a large service make tens of thousands
# (each worker's numbers, the rows of the tables and charts), so the
# collector ran a few dozen times a request and walked every long-lived
# object (Django itself) at the oldest generation now and then: a third of
# the service overview's p95 at 90 teams. A web process collects after
# 20,000 instead (docs/benchmarks.md); the memory this holds a little
# longer is a few megabytes at most.
WEB_GC_THRESHOLD = (20_000, 10, 10)


def tune_garbage_collection() -> None:
    gc.set_threshold(*WEB_GC_THRESHOLD)


tune_garbage_collection()
application = get_wsgi_application()
