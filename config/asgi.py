"""ASGI entry point, for a server that speaks ASGI (production uses gunicorn's WSGI)."""

import os

from django.core.asgi import get_asgi_application

from config.processes import tune_garbage_collection

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

tune_garbage_collection()
application = get_asgi_application()
