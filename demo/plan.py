"""The demo council on paper: its services, teams, people and log-ins.

A council's Children's and Adult Social Care, with two years of history.
The other modules of this app build it through the same write functions as
the pages, so the demo obeys every rule.
"""

from __future__ import annotations

from dataclasses import dataclass

from caseload.models import Case, Person

# The demo's history covers the past eight quarters and this one so far.
HISTORY_QUARTERS = 8
DEMO_PASSWORD = "demo"  # noqa: S105 - the published password of the demo log-ins
CHILDRENS_SERVICE = "Children's Social Care"
ADULTS_SERVICE = "Adult Social Care"

# The log-ins README.md and `make run` list.
DEMO_LOGINS = [
    ("manager", "Claire Hughes", "Team manager, Child Protection"),
    ("worker", "Asha Patel", "Social worker, Child Protection"),
    ("dmt", "Dana Morris", "Senior manager (DMT), Children's Social Care"),
    ("admin", "Alex Morgan", "Administrator"),
]


@dataclass(frozen=True)
class Member:
    username: str
    full_name: str
    role: str
    fte: str = "1.00"
    supervisor: str | None = None  # username; the team manager when None
    joined_days_ago: int = 830  # before the history starts
    cases: int = 0  # open cases they hold today
    closed: int = 0  # cases they held that have since closed
    heaviness: float = 2.0  # the typical level of their cases on each criterion (1 to 3)


@dataclass(frozen=True)
class TeamPlan:
    service: str
    name: str
    manager: tuple[str, str]  # username, full name
    prefix: str
    first_number: int
    case_types: tuple[str, ...]
    labels: tuple[str, ...]
    max_people: int
    members: tuple[Member, ...]
    unallocated: int
    aspiration: str = "20.0"


SW, ASYE, STUDENT = Person.Role.SOCIAL_WORKER, Person.Role.ASYE, Person.Role.STUDENT

TEAMS = (
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Child Protection",
        manager=("manager", "Claire Hughes"),
        prefix="CP",
        first_number=1001,
        case_types=(
            Case.Type.CHILD_PROTECTION,
            Case.Type.CHILD_PROTECTION,
            Case.Type.CHILD_IN_NEED,
        ),
        labels=(
            "Sibling group, neglect",
            "Pre-birth assessment",
            "Teenager, exploitation risk",
            "Domestic abuse",
            "Parental substance misuse",
            "Infant, non-accidental injury",
            "Step-down to child in need",
            "Missing episodes",
        ),
        max_people=3,
        members=(
            Member("worker", "Asha Patel", SW, cases=13, closed=4, heaviness=2.6),
            Member(
                "ben.okafor",
                "Ben Okafor",
                ASYE,
                joined_days_ago=70,
                cases=9,
                closed=1,
                heaviness=2.5,
            ),
            Member("chloe.evans", "Chloe Evans", SW, fte="0.60", cases=7, closed=2, heaviness=2.1),
            Member("daniel.reid", "Daniel Reid", SW, cases=14, closed=5, heaviness=2.8),
            Member("ella.shah", "Ella Shah", STUDENT, supervisor="worker", joined_days_ago=60),
        ),
        unallocated=4,
    ),
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Children with Disabilities",
        manager=("cwd.manager", "Farah Ali"),
        prefix="CWD",
        first_number=2001,
        case_types=(Case.Type.SHORT_BREAKS, Case.Type.SHORT_BREAKS, Case.Type.CHILD_IN_NEED),
        labels=(
            "Short breaks review",
            "Transition to adult services",
            "Complex health needs",
            "Residential short breaks",
            "Direct payments review",
            "Autism, family support",
        ),
        max_people=2,
        aspiration="25.0",
        members=(
            Member("george.hall", "George Hall", SW, cases=17, closed=4, heaviness=2.0),
            Member("hannah.wood", "Hannah Wood", SW, fte="0.80", cases=14, closed=3, heaviness=2.1),
            Member("isaac.brown", "Isaac Brown", SW, cases=18, closed=3, heaviness=2.35),
        ),
        unallocated=2,
    ),
    TeamPlan(
        service=CHILDRENS_SERVICE,
        name="Looked After Children",
        manager=("lac.manager", "James Carter"),
        prefix="LAC",
        first_number=3001,
        case_types=(Case.Type.LOOKED_AFTER, Case.Type.LOOKED_AFTER, Case.Type.CARE_LEAVER),
        labels=(
            "Long-term foster placement",
            "Placement with connected carer",
            "Residential placement",
            "Care leaver, pathway plan",
            "Reunification planning",
            "Placement stability concerns",
        ),
        max_people=2,
        members=(
            Member("katie.lewis", "Katie Lewis", SW, cases=14, closed=3, heaviness=2.2),
            Member(
                "liam.turner",
                "Liam Turner",
                ASYE,
                joined_days_ago=200,
                cases=10,
                closed=2,
                heaviness=2.3,
            ),
            Member("maya.green", "Maya Green", SW, fte="0.50", cases=7, closed=2, heaviness=2.0),
            Member(
                "noah.clarke",
                "Noah Clarke",
                SW,
                joined_days_ago=150,
                cases=13,
                closed=1,
                heaviness=2.1,
            ),
        ),
        unallocated=1,
    ),
    TeamPlan(
        service=ADULTS_SERVICE,
        name="Older People",
        manager=("op.manager", "Nadia Khan"),
        prefix="AS",
        first_number=2101,
        case_types=(Case.Type.ADULT_ASSESSMENT, Case.Type.ADULT_REVIEW, Case.Type.ADULT_REVIEW),
        labels=(
            "Hospital discharge review",
            "Care home placement review",
            "Carer's assessment",
            "Home care package review",
            "Safeguarding enquiry",
            "Reablement follow-up",
        ),
        max_people=1,
        aspiration="25.0",
        members=(
            Member("oliver.price", "Oliver Price", SW, cases=15, closed=4, heaviness=2.2),
            Member("priya.nair", "Priya Nair", SW, fte="0.80", cases=12, closed=3, heaviness=2.0),
            Member(
                "rachel.young",
                "Rachel Young",
                ASYE,
                joined_days_ago=120,
                cases=9,
                closed=1,
                heaviness=2.2,
            ),
        ),
        unallocated=3,
    ),
)


def member_joined(username: str) -> int:
    """Days ago the member joined their (current) team."""
    return next(m.joined_days_ago for plan in TEAMS for m in plan.members if m.username == username)


# Noah Clarke moved from Child Protection to Looked After Children: his history
# counts him in CP until the move.
MOVED = {"noah.clarke": ("Child Protection", 830)}

# Seed 000's case example, held in the older people's team.
MRS_HARRISON = {
    "reference": "AS-2041",
    "label": "Mrs H, lives alone, recent fall",
    "case_type": Case.Type.ADULT_ASSESSMENT,
    "holder": "oliver.price",
    "opened_days_ago": 16,
}
