from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo council that `make run` loads (`manage.py load_demo`). No models."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "demo"
