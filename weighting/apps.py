from django.apps import AppConfig


class WeightingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "weighting"
