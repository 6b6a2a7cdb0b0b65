from django.apps import AppConfig


class ReportsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "reports"

    def ready(self) -> None:
        from caseload.signals import numbers_changed
        from reports.stale import on_numbers_changed

        # Stored snapshots follow every change to the records they were computed from.
        numbers_changed.connect(on_numbers_changed, dispatch_uid="reports.stale")
