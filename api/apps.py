from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Case-events API"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from api.history import name_the_system
        from api.retention import delete_old_events, delete_old_request_counts
        from caseload import retention

        pre_create_historical_record.connect(name_the_system, dispatch_uid="api.name_the_system")
        retention.register("api_events", delete_old_events)
        retention.register("api_request_counts", delete_old_request_counts)
