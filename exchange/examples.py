"""Example rows of every sheet of the import format: a small council's
Child Protection team, complete enough to import into an empty Caseload.
The template's read_me sheet shows them to copy from."""

from __future__ import annotations

CSC = "Children's Social Care"
CP = "Child Protection"
LAC = "Looked After Children"

CRITERIA = {
    "Complexity": ("How many agencies and needs the case involves", [
        "One agency; needs are clear",
        "Several agencies; some needs unclear",
        "Many agencies; court or complex family dynamics",
    ]),
    "Risk": ("The current level of risk to the children", [
        "Low and understood",
        "Moderate, or being assessed",
        "High, or not yet assessed",
    ]),
    "Travel": ("Time travelling to see the family", [
        "Under 30 minutes a visit",
        "30 to 60 minutes a visit",
        "Over an hour a visit",
    ]),
}  # fmt: skip

EXAMPLES: dict[str, list[list]] = {
    "services": [[CSC, "children", 95, 100, 110, 4, 2, 37]],
    "teams": [[CSC, CP, 20, "claire.hughes"], [CSC, LAC, 15, "claire.hughes"]],
    "schemes": [[CSC, "", 1, "Caseload weighting", 100, "2026-04-01"]],
    "criteria": [
        [CSC, "", 1, name, description, level, descriptor]
        for name, (description, descriptors) in CRITERIA.items()
        for level, descriptor in enumerate(descriptors, start=1)
    ],
    "people": [
        [
            "claire.hughes",
            "Claire Hughes",
            "claire.hughes@example.gov.uk",
            "team_manager",
            CSC,
            1,
            "",
            "",
        ],
        [
            "asha.patel",
            "Asha Patel",
            "asha.patel@example.gov.uk",
            "social_worker",
            CSC,
            0.8,
            "claire.hughes",
            "",
        ],
        [
            "ben.okafor",
            "Ben Okafor",
            "ben.okafor@example.gov.uk",
            "asye",
            CSC,
            1,
            "claire.hughes",
            "2026-09-01",
        ],
    ],
    "memberships": [
        ["claire.hughes", CSC, CP, "2026-04-01", ""],
        ["asha.patel", CSC, CP, "2026-04-01", ""],
        ["ben.okafor", CSC, CP, "2026-09-01", ""],
    ],
    "experience_factors": [["ben.okafor", 0.8, "2026-09-01", "", "First year in practice"]],
    "reductions": [
        ["asha.patel", "Practice educator", "Student from October", "", 10, "2026-10-01", ""]
    ],
    "cases": [
        [CSC, "EX-1042", "Sibling group", "cp", 3, CP, 2, "2026-05-12", ""],
        [CSC, "EX-1043", "Pre-birth", "cin", 1, CP, 1, "2026-06-02", ""],
        [CSC, "EX-2001", "Teenager in foster care", "lac", 1, LAC, 3, "2026-04-20", ""],
    ],
    "case_moves": [[CSC, "EX-2001", CP, LAC, "2026-08-03", "Care order granted"]],
    "allocations": [
        [CSC, "EX-1042", "asha.patel", "primary", "2026-05-12", ""],
        [CSC, "EX-1043", "ben.okafor", "primary", "2026-09-08", ""],
        [CSC, "EX-1043", "asha.patel", "involved", "2026-09-08", ""],
    ],
    # After the format's columns: Complexity, Risk and Travel, then the
    # same three anticipated (here none).
    "ratings": [
        [
            CSC,
            "EX-1042",
            "2026-05-20",
            "agreed",
            "claire.hughes",
            "asha.patel",
            "",
            "",
            "",
            3,
            3,
            1,
            "",
            "",
            "",
        ],
        [
            CSC,
            "EX-1043",
            "2026-09-08",
            "provisional",
            "claire.hughes",
            "",
            "",
            "",
            "",
            2,
            3,
            1,
            "",
            "",
            "",
        ],
    ],
    # Ratings are the last sheet with open columns; a case on hold.
    "case_pauses": [[CSC, "EX-2001", "On hold", "", "2026-10-01", "", ""]],
}
