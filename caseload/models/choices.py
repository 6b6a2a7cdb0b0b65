"""The fixed lists of values of the core records, and the check constraint
that a column holds one of them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q


def in_choices(field: str, choices: type[models.Choices]) -> Q:
    return Q(**{f"{field}__in": choices.values})


class ServiceKind(models.TextChoices):
    CHILDREN = "children", "Children's services"
    ADULTS = "adults", "Adult services"


class Role(models.TextChoices):
    SOCIAL_WORKER = "social_worker", "Social worker"
    ASYE = "asye", "ASYE social worker"
    STUDENT = "student", "Student or trainee"
    TEAM_MANAGER = "team_manager", "Team manager"
    SENIOR_MANAGER = "senior_manager", "Senior manager (DMT)"
    ADMINISTRATOR = "administrator", "Administrator"


class CaseType(models.TextChoices):
    CHILD_IN_NEED = "cin", "Child in need"
    CHILD_PROTECTION = "cp", "Child protection"
    LOOKED_AFTER = "lac", "Looked after child"
    CARE_LEAVER = "care_leaver", "Care leaver"
    SHORT_BREAKS = "short_breaks", "Short breaks"
    ADULT_ASSESSMENT = "adult_assessment", "Adult assessment"
    ADULT_REVIEW = "adult_review", "Adult care and support review"


class Priority(models.IntegerChoices):
    URGENT = 1, "Urgent"
    HIGH = 2, "High"
    NORMAL = 3, "Normal"


class CaseStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"


class AllocationKind(models.TextChoices):
    PRIMARY = "primary", "Primary worker"
    INVOLVED = "involved", "Involved worker"
