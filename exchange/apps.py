from django.apps import AppConfig


class ExchangeConfig(AppConfig):
    """Import and export of the whole caseload. It owns no tables: an import's
    run is `caseload.models.ImportRun`."""

    default_auto_field = "django.db.models.BigAutoField"
    name = "exchange"
    label = "exchange"

    def ready(self) -> None:
        # Registers the import's tasks in every process, the web's included:
        # `runs` sends its task by name, as the task module imports `runs`.
        from exchange import tasks  # noqa: F401
