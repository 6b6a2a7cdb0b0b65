"""Check every pinned dependency against the vulnerabilities PyPI records.

    make audit
    python tools/audit_pins.py requirements/base.txt requirements/dev.txt

PyPI's JSON API lists the known vulnerabilities (from the Python Packaging
Advisory Database and OSV) of a release: `/pypi/<name>/<version>/json` for any
release, and `/pypi/<name>/json` for the newest one. Each pin is checked by the
first of these that answers; a pin older than the newest release, on an index
that only answers the second, cannot be checked and is reported as such.

Exit status: 0 when every pin was checked and none is vulnerable; 1 when a pin
has a known vulnerability; 2 when none is vulnerable but some could not be
checked (`--allow-unchecked` turns that into 0, and says so).

`make pip-audit` runs pip-audit, which asks the same questions of the same
sources, where its services are reachable.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.\-]*)(?:\[[^\]]*\])?==([^\s;\\]+)")
INDEX = os.environ.get("PYPI_JSON_URL", "https://pypi.org/pypi")


@dataclass
class Finding:
    name: str
    version: str
    status: str  # "clean", "vulnerable" or "unchecked"
    how: str
    vulnerabilities: list[str] = field(default_factory=list)


def read_pins(paths: list[str]) -> dict[str, str]:
    pins: dict[str, str] = {}
    for path in paths:
        with open(path, encoding="utf-8") as lines:
            for line in lines:
                match = PIN.match(line.strip())
                if match:
                    pins[match.group(1).lower()] = match.group(2)
    return pins


def _get(url: str) -> dict | None:
    if not url.startswith(("https://", "http://")):
        raise ValueError(f"PYPI_JSON_URL must be an http(s) address, not {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 (checked above)
            return json.load(answer)
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


def _ids(vulnerabilities: list[dict]) -> list[str]:
    return [
        f"{v['id']} (fixed in {', '.join(v.get('fixed_in') or ['no release'])})"
        for v in vulnerabilities
        if not v.get("withdrawn")
    ]


def judge(name: str, version: str, release: dict | None, project: dict | None) -> Finding:
    """What the index says of one pin: its own release's page if there is
    one, else the project's page when the pin is the newest release."""
    if release is not None:
        found = _ids(release.get("vulnerabilities", []))
        return Finding(name, version, "vulnerable" if found else "clean", "release page", found)
    if project is not None and project["info"]["version"] == version:
        found = _ids(project.get("vulnerabilities", []))
        return Finding(name, version, "vulnerable" if found else "clean", "newest release", found)
    newest = project["info"]["version"] if project else "unknown"
    return Finding(name, version, "unchecked", f"newest is {newest}; no release page here")


def audit(pins: dict[str, str]) -> list[Finding]:
    findings = []
    for name, version in sorted(pins.items()):
        release = _get(f"{INDEX}/{name}/{version}/json")
        project = None if release is not None else _get(f"{INDEX}/{name}/json")
        findings.append(judge(name, version, release, project))
    return findings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("requirements", nargs="+")
    parser.add_argument("--allow-unchecked", action="store_true")
    arguments = parser.parse_args(argv)
    findings = audit(read_pins(arguments.requirements))
    for finding in findings:
        if finding.status != "clean":
            print(f"{finding.status:<10} {finding.name}=={finding.version}: {finding.how}")
            for vulnerability in finding.vulnerabilities:
                print(f"           {vulnerability}")
    counts = {s: sum(f.status == s for f in findings) for s in ("clean", "vulnerable", "unchecked")}
    print(
        f"{len(findings)} pins: {counts['clean']} checked with no known vulnerability, "
        f"{counts['vulnerable']} vulnerable, {counts['unchecked']} could not be checked here"
    )
    if counts["vulnerable"]:
        return 1
    if counts["unchecked"] and not arguments.allow_unchecked:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
