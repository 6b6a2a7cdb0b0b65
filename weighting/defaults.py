"""The default weighting scheme: seed 000's example definitions, word for word,
on a three-point scale, with a benchmark of 100 points per full-time worker."""

from decimal import Decimal

DEFAULT_SCHEME_NAME = "Caseload weighting"
DEFAULT_BENCHMARK = Decimal("100")

# (name, description, [(level, descriptor), ...])
DEFAULT_CRITERIA = [
    (
        "Complexity",
        "Contact with other agencies",
        [
            (
                1,
                "Contact with other agencies either minimal or operating as regularised / "
                "unproblematic or standard.",
            ),
            (
                2,
                "Contact with other agencies changeable, requiring initiation and/or maintenance.",
            ),
            (
                3,
                "Multiple or complex contact with other agencies requiring careful negotiation / "
                "advocacy/ development or other high input.",
            ),
        ],
    ),
    (
        "Risk",
        "Risk assessment and contingency planning",
        [
            (
                1,
                "No current risk involved /risk assessment known and understood by all parties, "
                "with consequent decisions and actions, including contingency plans negotiated.",
            ),
            (
                2,
                "Risk assessment in process of being undertaken, with options for action and "
                "decision ready to be put into place.",
            ),
            (3, "Current risk not assessed / change of circumstances requiring new assessment."),
        ],
    ),
    (
        "Travel",
        "Travel outside the usual agency area",
        [
            (1, "No travelling outside usual agency area involved."),
            (2, "Regular, planned travel, no more than 3 times per year."),
            (
                3,
                "Unexpected travel on an occasional basis and/or regular travel more than "
                "3 times per year.",
            ),
        ],
    ),
]

# The reasons for protected time that every service starts with, the five
# that Caseload first offered: (name, default hours a week, default
# percentage, maximum weeks). A service's administrators change them, add
# their own and set maximum sizes. A phased return to work is short by
# nature, commonly half the hours at first; a practice educator's time is
# often a tenth of a full-time week.
DEFAULT_REDUCTION_REASONS = [
    ("Practice educator", Decimal("3.7"), None, None),
    ("Trade union duties", None, None, None),
    ("Training", None, None, None),
    ("Phased return to work", None, Decimal("50"), 12),
    ("Other protected time", None, None, None),
]
DEFAULT_REMINDER_DAYS = 14

# The reasons for pausing a case that every service starts with: (name,
# weight factor, maximum weeks). Peers count such cases for less: a case
# awaiting closure still has its closing work, a child in hospital or a case
# on hold needs little visiting but stays the worker's. A service's
# administrators change them and add their own.
DEFAULT_PAUSE_REASONS = [
    ("Awaiting closure", Decimal("0.5"), 8),
    ("Child in hospital", Decimal("0.5"), 12),
    ("On hold", Decimal("0.25"), 12),
]
