"""The case-management systems that send case events, their tokens, every
event received, and the requests counted against each token's rate limit."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caseload.models import Service


class ApiClient(models.Model):
    """A case-management system (Mosaic, Liquidlogic LCS, Eclipse…) that
    sends case events, and the services whose cases it may act on."""

    name = models.CharField(max_length=100, unique=True, help_text="The system, as people know it.")
    services = models.ManyToManyField(
        Service, related_name="+", help_text="The services whose cases this system may act on."
    )
    sees_restricted = models.BooleanField(
        "sees restricted cases",
        default=False,
        help_text="Whether this system may read and change restricted cases. Without it, a "
        "restricted case answers as not found.",
    )
    disables_people = models.BooleanField(
        "disables people",
        default=False,
        help_text="Whether this system (the council's identity provider, or its HR system) "
        "may tell Caseload that someone's account is disabled: they stop signing in and "
        "their open cases return to their team's queue.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Its name and services are changed in the admin: each change is kept.
    history = HistoricalRecords(m2m_fields=[services])

    class Meta:
        ordering = ["name"]
        verbose_name = "API client"

    def __str__(self) -> str:
        return self.name


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def working(self, now=None) -> ApiTokenQuerySet:  # type: ignore[no-untyped-def]
        """Tokens that are neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


class ApiToken(models.Model):
    """A client's secret, kept only as its SHA-256 hash. The prefix is not
    secret: it finds the row, and administrators see it to tell tokens apart."""

    client = models.ForeignKey(ApiClient, on_delete=models.CASCADE, related_name="tokens")
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    # Rotations and revocations change the row: each change is kept, with who made it.
    history = HistoricalRecords()

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["client", "-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.client} token {self.prefix}"


class ApiEvent(models.Model):
    """A case event as received, with what was done with it and the answer
    given, so that the same event sent again gets the same answer. Kept for
    RETENTION_DAYS (docs/data-protection.md)."""

    class Outcome(models.TextChoices):
        APPLIED = "applied", "Applied"
        STALE = "stale", "Older than the latest applied: not applied"
        REFUSED = "refused", "Refused by a rule"

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=100)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="+")
    case_reference = models.CharField(max_length=40)
    event_type = models.CharField(max_length=20)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(default=dict, encoder=DjangoJSONEncoder)

    class Meta:
        ordering = ["received_at", "pk"]
        verbose_name = "API event"
        constraints = [
            # One event id, one application: a repeat finds the first row.
            models.UniqueConstraint(
                fields=["client", "event_id"], name="api_event_once_per_client"
            ),
        ]
        indexes = [
            # The latest applied event of a case, which an older one may not undo.
            models.Index(
                fields=["service", "case_reference", "occurred_at"],
                condition=Q(outcome="applied"),
                name="api_event_applied_by_case",
            ),
            models.Index(fields=["received_at"], name="api_event_received"),
        ]

    def __str__(self) -> str:
        return f"{self.client} event {self.event_id}"


class ApiRequestCount(models.Model):
    """How many requests a token made in one minute, counted in the database
    so that every web process counts the same."""

    token = models.ForeignKey(ApiToken, on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["token", "minute"], name="api_request_count_per_minute"
            ),
        ]
        indexes = [models.Index(fields=["minute"], name="api_request_count_minute")]

    def __str__(self) -> str:
        return f"{self.token}: {self.count} at {self.minute}"
