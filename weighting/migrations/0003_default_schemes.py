"""Every service that has no weighting scheme adopts the default one (seed 000),
agreed from the day the service was created."""

from django.db import migrations

from weighting.defaults import DEFAULT_BENCHMARK, DEFAULT_CRITERIA, DEFAULT_SCHEME_NAME


def adopt_default_scheme(apps, schema_editor):
    Service = apps.get_model("caseload", "Service")
    Scheme = apps.get_model("weighting", "Scheme")
    Criterion = apps.get_model("weighting", "Criterion")
    Level = apps.get_model("weighting", "Level")
    for service in Service.objects.filter(schemes__isnull=True):
        scheme = Scheme.objects.create(
            service=service,
            name=DEFAULT_SCHEME_NAME,
            version=1,
            status="agreed",
            agreed_on=service.created_at.date(),
            benchmark=DEFAULT_BENCHMARK,
        )
        for position, (name, description, levels) in enumerate(DEFAULT_CRITERIA, start=1):
            criterion = Criterion.objects.create(
                scheme=scheme, position=position, name=name, description=description
            )
            Level.objects.bulk_create(
                Level(criterion=criterion, value=value, descriptor=descriptor)
                for value, descriptor in levels
            )


class Migration(migrations.Migration):
    dependencies = [
        ("weighting", "0002_postgresql_constraints"),
        ("caseload", "0003_service_bands"),
    ]

    operations = [migrations.RunPython(adopt_default_scheme, migrations.RunPython.noop)]
