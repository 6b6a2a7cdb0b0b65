"""The case_pauses sheet: cases paused for a reason on their service's list."""

from __future__ import annotations

import datetime
from decimal import Decimal

from exchange import format as fmt
from exchange.outcome import CREATED, UNCHANGED, UPDATED
from exchange.reader import Row
from exchange.sheets.state import ImportState, Interval
from weighting.models import CasePause, PauseReason

SHEET = fmt.CASE_PAUSES.name


class PauseSheets(ImportState):
    """Pauses of cases, matched by their case and start date. The factor and
    the day the case counts in full again are the reason's unless the file
    gives them (an export gives those fixed when the case was paused)."""

    def _pause(self, row: Row, v: dict) -> None:
        if self._duplicate(fmt.CASE_PAUSES, row, v):
            return
        case = self.cases.get((v["service"], v["reference"]))
        if case is None:
            self._error(SHEET, row, f"there is no case {v['reference']!r}")
            return
        team = self.team_now.get(id(case)) or case.team
        if not self._in_scope(team):
            self._error(SHEET, row, f"case {case.reference} is in another team")
            return
        reason = self._pause_reason_of(row, v["service"], v["reason"])
        if reason is None:
            return
        start = v["start_date"]
        factor = v["factor"] if v["factor"] is not None else reason.factor
        if not Decimal(0) < factor < 1:
            self._error(SHEET, row, "the factor must be more than 0 and less than 1")
            return
        full_from = v["counts_in_full_from"] or start + datetime.timedelta(
            weeks=reason.maximum_weeks
        )
        if full_from <= start:
            self._error(SHEET, row, "the case must count in full again after the pause starts")
            return
        if start < case.opened_on:
            self._error(SHEET, row, "the pause starts before the case opened")
            return
        existing = self.pauses.get((case.pk, start)) if case.pk else None
        what = self._dated(
            SHEET, row, existing, start, v["end_date"],
            same=existing is None
            or (existing.reason_id, existing.factor, existing.full_from)
            == (reason.pk, factor, full_from),
        )  # fmt: skip
        if what is None or what == UNCHANGED:
            if what == UNCHANGED:
                self.outcome.count(SHEET, what)
            return
        if what == CREATED and self._pause_overlaps(case, Interval(start, v["end_date"])):
            self._error(SHEET, row, f"case {case.reference} is paused at the same time")
            return
        self.outcome.count(SHEET, what)
        if what == CREATED:
            pause = CasePause(
                case=case,
                reason=reason,
                factor=factor,
                start_date=start,
                full_from=full_from,
                end_date=v["end_date"],
                paused_by=self.by,
            )
            self.saves.append(lambda p=pause: p.save())
            self._holders_stale(case, start)
        elif what == UPDATED:
            existing.end_date = v["end_date"]
            self._save_later(existing, ["end_date"])
            self._holders_stale(case, v["end_date"])

    def _pause_reason_of(self, row: Row, service: str, name: str) -> PauseReason | None:
        listed = self.pause_reasons.get(service, {})
        reason = listed.get(name.lower())
        if reason is None:
            offered = ", ".join(sorted(r.name for r in listed.values() if r.active)) or "none"
            self._error(
                SHEET, row,
                f"{name!r} is not a reason for pausing a case on the list of {service} (its "
                f"reasons: {offered})",
            )  # fmt: skip
        return reason

    def _pause_overlaps(self, case, interval: Interval) -> bool:  # type: ignore[no-untyped-def]
        """A new pause that overlaps another of the case's, stored or earlier
        in the file."""
        key = (SHEET, id(case), "pause")
        earlier = self._intervals.setdefault(key, [])
        stored = [
            Interval(p.start_date, p.end_date)
            for (case_id, _), p in self.pauses.items()
            if case.pk and case_id == case.pk
        ]
        if any(interval.overlaps(other) for other in [*stored, *earlier]):
            return True
        earlier.append(interval)
        return False

    def _holders_stale(self, case, day: datetime.date) -> None:  # type: ignore[no-untyped-def]
        """The stored numbers of the case's workers from `day` are recomputed."""
        for allocation in self.allocations[case.pk] if case.pk else []:
            self.stale[allocation.person_id] = min(self.stale.get(allocation.person_id, day), day)
