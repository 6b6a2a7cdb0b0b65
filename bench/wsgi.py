"""The product's WSGI application with the benchmark's settings
(bench/settings.py: the floor page's URL), for the load test's gunicorn."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from bench import always_computed
from caseload.wsgi import application

always_computed.apply()  # TEMPORARY, until caseload/changes.py is gone

__all__ = ["application"]
