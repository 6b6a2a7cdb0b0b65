"""The demo is loaded only on request, and never over a real installation."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from caseload.models import Service
from tests.factories import ServiceFactory


def test_the_demo_is_not_loaded_into_a_real_installation(db):
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("load_demo")
    assert not Service.objects.exists()


@override_settings(DEBUG=True)
def test_the_first_run_leaves_an_existing_database_alone(db, capsys):
    ServiceFactory(name="Our own service")
    call_command("load_demo", "--if-empty")
    assert "already holds data" in capsys.readouterr().out
    assert Service.objects.count() == 1
