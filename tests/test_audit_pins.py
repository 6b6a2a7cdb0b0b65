"""The dependency audit's judgement of one pin, from the index's answers."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import audit_pins

ADVISORY = {"id": "PYSEC-2099-1", "fixed_in": ["2.0.1"], "withdrawn": None}


def project(newest, vulnerabilities=()):
    return {"info": {"version": newest}, "vulnerabilities": list(vulnerabilities)}


def test_a_release_page_decides_whatever_the_newest_release():
    finding = audit_pins.judge("tool", "1.0", {"vulnerabilities": [ADVISORY]}, None)
    assert finding.status == "vulnerable"
    assert finding.vulnerabilities == ["PYSEC-2099-1 (fixed in 2.0.1)"]
    assert audit_pins.judge("tool", "1.0", {"vulnerabilities": []}, None).status == "clean"


def test_without_a_release_page_only_the_newest_release_can_be_judged():
    assert audit_pins.judge("tool", "2.0", None, project("2.0")).status == "clean"
    vulnerable = audit_pins.judge("tool", "2.0", None, project("2.0", [ADVISORY]))
    assert vulnerable.status == "vulnerable"
    older = audit_pins.judge("tool", "1.0", None, project("2.0"))
    assert older.status == "unchecked"
    assert older.how == "newest is 2.0; no release page here"


def test_withdrawn_advisories_do_not_count():
    withdrawn = {**ADVISORY, "withdrawn": "2099-01-02T00:00:00Z"}
    assert audit_pins.judge("tool", "1.0", {"vulnerabilities": [withdrawn]}, None).status == "clean"


def test_pins_are_read_with_extras_and_hashes_ignored(tmp_path):
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(
        "Django==5.2.19\n    # via caseload\npsycopg[binary]==3.2.1 \\\n    --hash=sha256:ab\n"
        "-e .\n# a comment\n",
        encoding="utf-8",
    )
    assert audit_pins.read_pins([str(requirements)]) == {"django": "5.2.19", "psycopg": "3.2.1"}
