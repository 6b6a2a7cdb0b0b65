"""WSGI entry point, served by gunicorn in production."""

import os

from django.core.wsgi import get_wsgi_application

from caseload.processes import tune_garbage_collection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "caseload.settings")

tune_garbage_collection()
application = get_wsgi_application()
