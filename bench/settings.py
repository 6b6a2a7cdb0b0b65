"""The product's settings, with the benchmark's URLs: the app's own and the
floor page (bench/urls.py). Used by `bench/scale.py` in-process and by the
gunicorn it starts for the load test; never in production."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
