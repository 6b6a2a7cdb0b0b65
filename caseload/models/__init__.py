"""The core records: services, teams, people, cases and allocations
(`organisation`, `people`, `cases`), and what the application keeps about its
own working (`records`). Django finds the models here."""

from caseload.models.cases import (
    Allocation,
    Case,
    CaseQuerySet,
    CaseTeamMove,
    NamedOnCase,
    OverMaximum,
    OverMaximumReview,
)
from caseload.models.choices import AllocationKind, CaseType, Priority, Role, ServiceKind
from caseload.models.organisation import LeavingNotice, Service, Team, TeamMembership, Vacancy
from caseload.models.people import FteChange, Person
from caseload.models.records import (
    AccessRecord,
    FormSubmission,
    IdListField,
    ImportRun,
    Notification,
    SuperuserRequest,
)

__all__ = [
    "AccessRecord",
    "Allocation",
    "AllocationKind",
    "Case",
    "CaseQuerySet",
    "CaseTeamMove",
    "CaseType",
    "FormSubmission",
    "FteChange",
    "IdListField",
    "ImportRun",
    "LeavingNotice",
    "NamedOnCase",
    "Notification",
    "OverMaximum",
    "OverMaximumReview",
    "Person",
    "Priority",
    "Role",
    "Service",
    "ServiceKind",
    "SuperuserRequest",
    "Team",
    "TeamMembership",
    "Vacancy",
]
