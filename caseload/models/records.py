"""What the application keeps about its own working: the email outbox, forms
already answered, import runs, the access audit, superusers' requests, and
the history of log-ins and groups."""

from __future__ import annotations

import simple_history
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import models
from django.db.models import Q
from django.utils import timezone
from simple_history.models import HistoricalRecords

from caseload.models.choices import in_choices
from caseload.models.people import Person


class Notification(models.Model):
    """An email to send. Written in the same transaction as what caused it and
    sent by a task that sweeps unsent rows, so a broker outage loses nothing."""

    recipient = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="notifications")
    email = models.EmailField()
    subject = models.CharField(max_length=200)
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # The sweeper looks for unsent rows only.
            models.Index(
                fields=["created_at"],
                condition=Q(sent_at__isnull=True),
                name="notification_unsent",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} to {self.email}"


class FormSubmission(models.Model):
    """A form's single-use token (caseload.resubmission), written in the same
    transaction as what the form saved, with where its answer sent the
    person: the same form sent again (a double click, a retry after a
    timeout) is sent there too and saves nothing more. Forgotten after a
    week by the day's jobs."""

    token = models.UUIDField(primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sent_at = models.DateTimeField(default=timezone.now, db_index=True)
    answer = models.CharField(max_length=2000, blank=True)

    def __str__(self) -> str:
        return f"form {self.token} sent at {self.sent_at}"


class ImportStatus(models.TextChoices):
    INVALID = "invalid", "Problems found"
    PREVIEWED = "previewed", "Ready to confirm"
    QUEUED = "queued", "Waiting to import"
    RUNNING = "running", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"
    EXPIRED = "expired", "Expired"


class ImportRun(models.Model):
    """One upload of the whole-caseload format: checked first (the preview),
    then written when confirmed. The file is kept only until the run ends
    (imported, invalid, failed) or its preview expires."""

    Status = ImportStatus

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The teams a manager's import may touch; null for an administrator's.
    team_ids = models.JSONField(null=True, blank=True)
    file_name = models.CharField(max_length=200)
    content = models.BinaryField(blank=True)
    row_count = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices)
    summary = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Each start of the write: a worker that dies leaves the run to the sweep,
    # which starts it again, a few times at most (exchange.runs).
    attempts = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(null=True, blank=True)
    failure = models.CharField(max_length=500, blank=True)  # why a failed run failed
    # Whether its new people with an email are invited to set their password.
    invite = models.BooleanField(default=False)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=in_choices("status", ImportStatus), name="import_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def in_progress(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)


class AuditAction(models.TextChoices):
    VIEW = "view", "Viewed"
    CREATE = "create", "Created"
    CHANGE = "change", "Changed"
    END = "end", "Ended"


class AuditRecordType(models.TextChoices):
    CASE = "case", "Case"
    ALLOCATION = "allocation", "Allocation"
    RATING = "rating", "Rating"
    SUPERVISION_RECORD = "supervision_record", "Supervision record"
    LISTING = "listing", "List of cases"


class AuditListing(models.TextChoices):
    """The pages and files that list cases: each view writes one audit row."""

    TEAM = "team", "Team page"
    MY_CASELOAD = "my_caseload", "My caseload"
    OVER_MAXIMUM = "over_maximum", "Over-maximum list"
    EXPORT = "export", "Full export"
    ADMIN_CASES = "admin_cases", "Admin case list"
    ADMIN_ALLOCATIONS = "admin_allocations", "Admin allocation list"
    ADMIN_RATINGS = "admin_ratings", "Admin rating list"
    ADMIN_CASE_SEARCH = "admin_case_search", "Admin case search"


class HoldsAnyOf(models.Lookup):
    """`ids__holds_any_of=[3, 7]`: a JSON list of ids holding any of these,
    on PostgreSQL and SQLite alike (JSONField's `contains` is PostgreSQL's)."""

    lookup_name = "holds_any_of"
    prepare_rhs = False

    def as_sql(self, compiler, connection):  # type: ignore[no-untyped-def]
        lhs, params = self.process_lhs(compiler, connection)
        wanted: list[int | str] = [int(pk) for pk in self.rhs]
        if not wanted:
            return "1 = 0", params
        if connection.vendor == "postgresql":
            elements, wanted = f"jsonb_array_elements_text({lhs})", [str(pk) for pk in wanted]
        else:
            elements = f"json_each({lhs})"
        marks = ", ".join(["%s"] * len(wanted))
        # Only the column and placeholders are written into the SQL: the ids are parameters.
        sql = f"EXISTS (SELECT 1 FROM {elements} AS listed WHERE listed.value IN ({marks}))"  # noqa: S608
        return sql, [*params, *wanted]


class IdListField(models.JSONField):
    """A JSON list of record ids, searchable with `holds_any_of`."""


IdListField.register_lookup(HoldsAnyOf)


class AccessRecordQuerySet(models.QuerySet["AccessRecord"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be changed.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be deleted.")


class AccessRecord(models.Model):
    """Who viewed, created, changed or ended which record, or opened which
    listing of cases, and when (UTC). No case text: references and ids only.
    Rows are only ever added: the application cannot change them, and deletes
    them only when they pass the retention period (`caseload.audit.
    delete_expired`); on PostgreSQL a trigger refuses anything else short of
    dropping it."""

    Action = AuditAction
    RecordType = AuditRecordType
    Listing = AuditListing

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Empty for the system (scheduled jobs, the demo, command-line imports).",
    )
    username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=AuditAction.choices)
    record_type = models.CharField(max_length=20, choices=AuditRecordType.choices)
    record_id = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Empty for a listing, which names its cases' ids."
    )
    case_reference = models.CharField(max_length=40, blank=True, db_index=True)
    listing = models.CharField(
        max_length=20,
        choices=AuditListing.choices,
        blank=True,
        help_text="Which page or file listed cases (a listing's row only).",
    )
    case_ids = IdListField(
        default=list,
        blank=True,
        help_text="The ids of the cases a listing showed, or that a record's page "
        "showed besides its own case (a supervision record's cases).",
    )
    subject = models.ForeignKey(
        Person,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose record: the worker of an allocation or a supervision record.",
    )

    objects = AccessRecordQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["user", "at"], name="audit_user_at")]
        constraints = [
            models.CheckConstraint(
                condition=in_choices("action", AuditAction), name="audit_action_valid"
            ),
            models.CheckConstraint(
                condition=in_choices("record_type", AuditRecordType),
                name="audit_record_type_valid",
            ),
            # A listing names its kind and its cases' ids; any other row, its record.
            models.CheckConstraint(
                condition=(
                    Q(record_type=AuditRecordType.LISTING, record_id__isnull=True)
                    & in_choices("listing", AuditListing)
                )
                | (
                    ~Q(record_type=AuditRecordType.LISTING) & Q(record_id__isnull=False, listing="")
                ),
                name="audit_listing_or_record",
            ),
        ]

    def __str__(self) -> str:
        what = self.listing or f"{self.record_type} {self.record_id}"
        return f"{self.username or 'system'} {self.action} {what}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The audit cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The audit cannot be deleted.")

    @property
    def cases_listed(self) -> int | None:
        """How many cases a listing showed, or a record's page besides its own."""
        return len(self.case_ids) if self.listing or self.case_ids else None


class SuperuserRequestQuerySet(models.QuerySet["SuperuserRequest"]):
    def update(self, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be changed.")

    def delete(self):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be deleted.")


class SuperuserRequest(models.Model):
    """A request made by a superuser: the break-glass account, kept for
    emergencies (README). Every one is recorded, whatever it asks for; rows
    are only ever added, as in the access audit (and on PostgreSQL a trigger
    refuses any change or deletion)."""

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    username = models.CharField(max_length=150)
    method = models.CharField(max_length=10)
    path = models.TextField(help_text="The path asked for, with its query string.")

    objects = SuperuserRequestQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = "superuser request"

    def __str__(self) -> str:
        return f"{self.username} {self.method} {self.path}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not self._state.adding:
            raise PermissionError("The superuser audit cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise PermissionError("The superuser audit cannot be deleted.")


class _LogInHistory(HistoricalRecords):
    """A sign-in saves only the log-in's `last_login`: that is no change to
    the account, and is not kept as one."""

    def post_save(self, instance, created, using=None, **kwargs):  # type: ignore[no-untyped-def]
        if kwargs.get("update_fields") == frozenset({"last_login"}):
            return
        super().post_save(instance, created, using=using, **kwargs)


# Log-ins and groups are changed in the admin too: each change is kept, with
# who made it, as for people and teams (never a password's hash).
simple_history.register(
    User,
    app="caseload",
    records_class=_LogInHistory,
    excluded_fields=["password", "last_login"],
    m2m_fields=["groups", "user_permissions"],
)
simple_history.register(Group, app="caseload", m2m_fields=["permissions"])
