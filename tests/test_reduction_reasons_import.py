"""The reductions sheet names a reason on the list of the person's service,
and keeps the reason's rules as the pages do; the export writes the name."""

from __future__ import annotations

import datetime
from decimal import Decimal as D

import pytest

from caseload.dates import long_date
from exchange import exporter
from tests.conftest import days_ago
from tests.factories import reason_named
from tests.test_import import PEOPLE, REDUCTIONS, apply, csv_file, day, said, workbook
from weighting import services as weighting
from weighting.models import Reduction, ReductionReason


def reductions(*rows: list) -> bytes:
    return csv_file([REDUCTIONS, *rows])


def test_a_reason_is_read_by_its_name_whatever_its_capitals(social_worker):
    outcome = apply(
        "reductions.csv",
        reductions(
            ["worker", "PRACTICE EDUCATOR", "Student from May", "", "", day(5), ""],
            ["worker", "trade union duties", "", "", "10", day(5), ""],
        ),
    )
    assert said(outcome) == []
    stored = {
        r.reason.name: (r.hours_per_week, r.percentage, r.detail)
        for r in social_worker.reductions.select_related("reason")
    }
    assert stored == {
        "Practice educator": (D("3.7"), None, "Student from May"),  # the reason's default
        "Trade union duties": (None, D(10), ""),
    }


def test_the_codes_of_older_files_still_read_as_the_five_names(social_worker):
    outcome = apply(
        "reductions.csv", reductions(["worker", "phased_return", "", "", "40", day(5), ""])
    )
    assert said(outcome) == []
    assert social_worker.reductions.get().reason == reason_named(
        social_worker, "Phased return to work"
    )


def test_an_unknown_reason_is_refused_with_the_list_s_names(social_worker):
    ReductionReason.objects.filter(name="Training").update(active=False)
    outcome = apply("reductions.csv", reductions(["worker", "Mentoring", "", "2", "", day(5), ""]))
    assert said(outcome) == [
        "reductions, row 2: 'Mentoring' is not a reason on the list of Children's Social Care "
        "(its reasons: Other protected time, Phased return to work, Practice educator, "
        "Trade union duties)"
    ]
    assert not Reduction.objects.exists()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            ["worker", "Training", "", "8", "", day(5), ""],
            "Training: at most 7.4 hours a week; 8 hours a week asked",
        ),
        (
            ["worker", "Training", "", "", "25", day(5), ""],
            "Training: at most 7.4 hours a week; 25% of Asha Patel's 37 hours is 9.25",
        ),
        (
            ["worker", "Training", "", "2", "", day(50), day(5)],
            f"Training: at most 4 weeks. From {long_date(days_ago(50))} it ends by "
            f"{long_date(days_ago(50) + datetime.timedelta(weeks=4))} at the latest",
        ),
        (
            ["worker", "Training", "", "", "", day(5), ""],
            "Give the protected time in hours a week or as a percentage",
        ),
        (
            ["worker", "Training", "", "2", "10", day(5), ""],
            "Give the time as hours_per_week or as a percentage, not both",
        ),
    ],
)
def test_a_row_that_breaks_the_reason_s_rules_is_refused_and_nothing_is_written(
    social_worker, row, message
):
    ReductionReason.objects.filter(name="Training").update(
        maximum_hours_per_week=D("7.4"), maximum_weeks=4
    )
    outcome = apply("reductions.csv", reductions(row))
    assert said(outcome) == [f"reductions, row 2: {message}"]
    assert not Reduction.objects.exists()


def test_with_no_end_date_the_reason_s_longest_length_ends_it_and_the_file_imports_again(
    social_worker,
):
    content = reductions(["worker", "Phased return to work", "", "", "", day(14), ""])
    assert said(apply("reductions.csv", content)) == []
    reduction = social_worker.reductions.get()
    assert (reduction.percentage, reduction.end_date) == (
        50,
        days_ago(14) + datetime.timedelta(weeks=12),
    )
    again = apply("reductions.csv", content)
    assert said(again) == []
    assert again.counts["reductions"]["unchanged"] == 1
    assert social_worker.reductions.count() == 1


def test_a_reason_no_longer_offered_keeps_its_old_rows_but_takes_no_new_ones(social_worker):
    training = reason_named(social_worker, "Training")
    weighting.reduction_create(
        person=social_worker, reason=training, start_date=days_ago(60), hours_per_week=D(2)
    )
    ReductionReason.objects.filter(pk=training.pk).update(active=False)
    outcome = apply(
        "reductions.csv",
        reductions(
            ["worker", "training", "", "2", "", day(60), day(1)],  # the stored one, ended
            ["worker", "training", "", "2", "", day(0), ""],
        ),
    )
    assert said(outcome) == [
        "reductions, row 3: Training is no longer offered: choose another reason"
    ]
    assert social_worker.reductions.get().end_date is None  # nothing written


def test_the_same_reason_twice_at_once_in_one_file_is_refused_but_two_reasons_are_not(
    social_worker,
):
    outcome = apply(
        "reductions.csv",
        reductions(
            ["worker", "Training", "", "2", "", day(30), ""],
            ["worker", "Trade union duties", "", "2", "", day(20), ""],
            ["worker", "TRAINING", "", "1", "", day(10), ""],
        ),
    )
    assert said(outcome) == ["reductions, row 4: Asha Patel has training time at the same time"]


def test_a_new_service_in_the_file_brings_the_five_reasons(db):
    content = workbook(
        services=[["service", "kind"], ["Early Help", "children"]],
        people=[PEOPLE, ["nia", "Nia Jones", "", "social_worker", "Early Help", 1, "", ""]],
        reductions=[REDUCTIONS, ["nia", "Practice educator", "", "", "", day(3), ""]],
    )
    outcome = apply("new.xlsx", content)
    assert said(outcome) == []
    reduction = Reduction.objects.select_related("reason__service").get()
    assert (reduction.reason.service.name, reduction.reason.name, reduction.hours_per_week) == (
        "Early Help",
        "Practice educator",
        D("3.7"),
    )
    assert reduction.reason.service.reduction_reasons.count() == 5


def test_the_export_writes_the_reason_s_name(social_worker):
    weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Practice educator"),
        start_date=days_ago(5),
    )
    columns, rows = exporter.collect()["reductions"]
    assert columns[:2] == ["username", "reason"]
    assert [row[:2] for row in rows] == [["worker", "Practice educator"]]
