"""The product's WSGI application with the benchmark's settings
(bench/settings.py: the floor page's URL), for the load test's gunicorn."""

import os

os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"

from config.wsgi import application

__all__ = ["application"]
