"""The caseload numbers (DESIGN.md, "The numbers, defined once"), to the boundary."""

from decimal import Decimal

import factory
import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from allocation import services
from caseload.models import Allocation, Person, TeamMembership
from tests.conftest import days_ago
from tests.factories import (
    CaseFactory,
    PersonFactory,
    ServiceFactory,
    TeamFactory,
    member,
    reason_named,
)
from weighting import services as weighting
from weighting.bands import Band, Bands
from weighting.models import Level, RatingLevel, Reduction, Scheme
from weighting.numbers import capacity_points, caseload_numbers
from weighting.schemes_in_force import scheme_terms
from weighting.services import CriterionSpec, RuleBroken
from weighting.totals import team_totals

D = Decimal


def criteria_ids(scheme: Scheme) -> dict[str, int]:
    return {c.name: c.pk for c in scheme.criteria.all()}


def rate(case, scheme, complexity, risk, travel, *, on=None, status="interim", **extra):
    ids = criteria_ids(scheme)
    return weighting.rating_create(
        case=case,
        levels={ids["Complexity"]: D(complexity), ids["Risk"]: D(risk), ids["Travel"]: D(travel)},
        rated_on=on or days_ago(1),
        rated_by=None,
        status=status,
        **extra,
    )


def hold(case, person, start=None):
    services.allocation_create(
        case=case, person=person, start_date=start or days_ago(30), allocated_by=None
    )


def test_the_default_scheme_is_seed_000_word_for_word(default_scheme):
    criteria = {c.name: c for c in default_scheme.criteria.prefetch_related("levels")}
    assert list(criteria) == ["Complexity", "Risk", "Travel"]
    assert criteria["Complexity"].description == "Contact with other agencies"
    assert [lv.descriptor for lv in criteria["Risk"].levels.all()] == [
        "No current risk involved /risk assessment known and understood by all parties, with "
        "consequent decisions and actions, including contingency plans negotiated.",
        "Risk assessment in process of being undertaken, with options for action and decision "
        "ready to be put into place.",
        "Current risk not assessed / change of circumstances requiring new assessment.",
    ]
    assert criteria["Travel"].levels.last().descriptor == (
        "Unexpected travel on an occasional basis and/or regular travel more than 3 times per year."
    )
    assert default_scheme.benchmark == 100


def test_mrs_harrison_is_7_of_9(team, default_scheme, social_worker):
    case = CaseFactory(team=team, reference="AS-2041")
    rating = rate(
        case,
        default_scheme,
        3,
        3,
        1,
        status="agreed",
        agreed_with=social_worker,
        anticipated_levels={
            criteria_ids(default_scheme)["Complexity"]: D(3),
            criteria_ids(default_scheme)["Risk"]: D(2),
            criteria_ids(default_scheme)["Travel"]: D(1),
        },
        anticipated_by=days_ago(-13),
    )
    terms = weighting_terms(default_scheme)
    assert (rating.total, terms.maximum_total) == (D(7), D(9))
    assert rating.anticipated_total == D(6)


def weighting_terms(scheme):
    return scheme_terms([scheme.pk])[scheme.pk]


def test_the_worked_example(team, default_scheme, team_manager):
    """DESIGN.md: a 0.8 FTE ASYE (factor 0.8) with 3 hours of protected time,
    holding cases weighted 7, 6 and 9 and one unrated case."""
    asye = member(team, role=Person.Role.ASYE, fte=D("0.8"), full_name="Ben Okafor")
    weighting.experience_factor_set(
        person=asye, factor=D("0.8"), start_date=days_ago(100), reason="ASYE", by=None
    )
    weighting.reduction_create(
        person=asye,
        reason=reason_named(asye, "Training"),
        hours_per_week=D(3),
        start_date=days_ago(50),
    )
    for weights in [(3, 3, 1), (2, 2, 2), (3, 3, 3), None]:
        case = CaseFactory(team=team, people_count=1)
        hold(case, asye)
        if weights:
            rate(case, default_scheme, *weights)
    # Two full-time social workers hold 20 and 18 children; she holds 5.
    first = member(team, full_name="Asha Patel")
    second = member(team, full_name="Daniel Reid")
    hold(CaseFactory(team=team, people_count=20), first)
    hold(CaseFactory(team=team, people_count=18), second)
    CaseFactory(team=team, people_count=1)  # unallocated: counts for nobody
    asye_case = asye.allocations.first().case
    asye_case.people_count = 2
    asye_case.save()

    numbers = caseload_numbers([asye, first, second, team_manager], timezone.localdate())
    hers = numbers[asye.pk]
    assert hers.capacity_display == "57.5"
    assert hers.weighted_load == D(28)
    assert hers.percent_display == "48.7%"
    assert hers.band is Band.BLUE
    assert hers.band_label == "Under 95%"
    assert (hers.unrated_count, hers.case_count, hers.people_count) == (1, 4, 5)

    totals = team_totals(numbers[p.pk] for p in (asye, first, second, team_manager))[team.pk]
    assert totals.case_holding_fte == D("2.8")
    assert totals.people == 43
    assert totals.people_per_fte_display == "15.4"


def test_capacity_of_a_half_time_asye_with_a_reduction():
    capacity = capacity_points(
        benchmark=D(100), fte=D("0.5"), experience_factor=D("0.8"), reduction_hours=D(2)
    )
    # 100 × 0.5 × 0.8 × (1 − 2 ÷ 18.5)
    assert capacity.quantize(D("0.0001")) == D("35.6757")


def test_a_percentage_reduction_is_that_share_of_the_persons_hours():
    assert capacity_points(
        benchmark=D(100), fte=D("0.6"), experience_factor=D(1), reduction_percentage=D(10)
    ) == D("54.0")


def test_capacity_never_goes_below_zero():
    assert capacity_points(
        benchmark=D(100), fte=D("0.2"), experience_factor=D(1), reduction_hours=D(10)
    ) == D(0)


@pytest.mark.parametrize(
    ("percent", "band", "shown"),
    [
        ("94.9", Band.BLUE, "94.9"),
        ("95", Band.GREEN, "95.0"),
        ("100", Band.GREEN, "100.0"),
        ("100.1", Band.AMBER, "100.1"),
        ("109.9", Band.AMBER, "109.9"),
        ("110", Band.RED, "110.0"),
        # Rounding never carries a number into the next band.
        ("94.96", Band.BLUE, "94.9"),
        ("100.04", Band.AMBER, "100.1"),
        ("109.96", Band.AMBER, "109.9"),
        ("99.99", Band.GREEN, "100.0"),
    ],
)
def test_every_band_boundary(percent, band, shown):
    bands = Bands()
    # A load of `percent` points against a capacity of 100, and the same share
    # against an awkward capacity, give the same band: no float, no division.
    assert bands.band(D(percent), D(100)) is band
    assert bands.band(D(percent) * D("0.573"), D("57.3")) is band
    assert str(bands.displayed_percent(D(percent))) == shown


def test_bands_follow_the_service_thresholds(team, social_worker, default_scheme):
    service = team.service
    service.band_green_from, service.band_amber_above, service.band_red_from = 90, 105, 120
    service.save()
    for weights in [(3, 3, 3)] * 10 + [(3, 3, 1)] * 2:  # 90 + 14 = 104 points
        case = CaseFactory(team=team)
        hold(case, social_worker)
        rate(case, default_scheme, *weights)
    numbers = caseload_numbers([social_worker], timezone.localdate())[social_worker.pk]
    assert numbers.percent_display == "104.0%"
    assert numbers.band is Band.GREEN
    assert numbers.band_label == "90–105%"


def test_the_latest_rating_on_or_before_the_day_counts(team, social_worker, default_scheme):
    case = CaseFactory(team=team, opened_on=days_ago(100))
    hold(case, social_worker, start=days_ago(90))
    rate(case, default_scheme, 1, 1, 1, on=days_ago(80), status="provisional")
    rate(case, default_scheme, 3, 3, 3, on=days_ago(20))

    def load(day):
        return caseload_numbers([social_worker], days_ago(day))[social_worker.pk]

    assert load(85).weighted_load == 6  # held, not yet rated: the middle level
    assert load(85).unrated_count == 1
    assert load(50).weighted_load == 3
    assert load(50).provisional_count == 1
    assert load(10).weighted_load == 9
    assert load(10).provisional_count == 0
    assert load(95).case_count == 0  # not yet held


def test_an_anticipated_rating_never_counts(team, social_worker, default_scheme):
    case = CaseFactory(team=team)
    hold(case, social_worker)
    ids = criteria_ids(default_scheme)
    rate(
        case,
        default_scheme,
        3,
        3,
        3,
        on=days_ago(20),
        anticipated_levels={ids["Complexity"]: 1, ids["Risk"]: 1, ids["Travel"]: 1},
        anticipated_by=days_ago(5),
    )
    assert caseload_numbers([social_worker], days_ago(0))[social_worker.pk].weighted_load == 9


def test_involved_workers_are_not_counted(team, held_case, student, social_worker, default_scheme):
    services.allocation_create(
        case=held_case, person=student, kind="involved", start_date=days_ago(3), allocated_by=None
    )
    numbers = caseload_numbers([student, social_worker], timezone.localdate())
    assert numbers[student.pk].case_count == 0
    assert numbers[student.pk].percent_display == "No capacity"
    assert numbers[social_worker.pk].case_count == 1


def test_managers_and_students_have_no_capacity(team_manager, student, default_scheme):
    numbers = caseload_numbers([team_manager, student], timezone.localdate())
    for person in (team_manager, student):
        assert numbers[person.pk].capacity == 0
        assert numbers[person.pk].band is None
        assert numbers[person.pk].band_label == "No capacity"


def test_an_asye_without_a_recorded_factor_starts_at_80_percent(team, default_scheme):
    asye = member(team, role=Person.Role.ASYE)
    assert caseload_numbers([asye], timezone.localdate())[asye.pk].capacity == D(80)


def test_a_ne_london_style_scheme_fits_the_same_model(service, team, social_worker):
    """Risk 0–5, care co-ordination 1–5, time 1–10, about 225 points per worker."""
    draft = weighting.scheme_draft_new_version(team=team, by=None)
    weighting.scheme_update_draft(
        scheme=draft,
        name="NE London workload tool",
        benchmark=D(225),
        criteria=[
            CriterionSpec("Risk", "", [(D(v), f"Risk {v}") for v in range(0, 6)]),
            CriterionSpec(
                "Care co-ordination", "", [(D(v), f"Co-ordination {v}") for v in range(1, 6)]
            ),
            CriterionSpec("Time", "", [(D(v), f"Time {v}") for v in range(1, 11)]),
        ],
    )
    scheme = weighting.scheme_agree(scheme=draft, agreed_on=days_ago(10), by=None)
    terms = weighting_terms(scheme)
    assert (terms.benchmark, terms.middle_total, terms.maximum_total) == (D(225), D(11), D(20))
    ids = criteria_ids(scheme)
    case, unrated = CaseFactory(team=team), CaseFactory(team=team)
    hold(case, social_worker, start=days_ago(5))
    hold(unrated, social_worker, start=days_ago(5))
    rating = weighting.rating_create(
        case=case,
        levels={ids["Risk"]: D(4), ids["Care co-ordination"]: D(3), ids["Time"]: D(7)},
        rated_on=days_ago(1),
        rated_by=None,
        status="interim",
    )
    assert rating.total == 14
    numbers = caseload_numbers([social_worker], timezone.localdate())[social_worker.pk]
    assert numbers.weighted_load == 25  # 14 + the middle of each scale (2.5 + 3 + 5.5)
    assert numbers.capacity == 225
    assert numbers.percent_display == "11.1%"


def test_a_tavistock_style_weighted_case_limit_fits_too(team, social_worker):
    """One weight per case (0.5, 1, 1.5) against a ceiling of 13."""
    draft = weighting.scheme_draft_new_version(team=team, by=None)
    weighting.scheme_update_draft(
        scheme=draft,
        name="Weighted case limit",
        benchmark=D(13),
        criteria=[
            CriterionSpec(
                "Case weight",
                "",
                [(D("0.5"), "Light"), (D("1"), "Standard"), (D("1.5"), "Heavy")],
            )
        ],
    )
    scheme = weighting.scheme_agree(scheme=draft, agreed_on=days_ago(3), by=None)
    for weight in ("1.5", "0.5", "1.5"):
        case = CaseFactory(team=team)
        hold(case, social_worker, start=days_ago(2))
        weighting.rating_create(
            case=case,
            levels={scheme.criteria.get().pk: D(weight)},
            rated_on=days_ago(1),
            rated_by=None,
            status="interim",
        )
    numbers = caseload_numbers([social_worker], timezone.localdate())[social_worker.pk]
    assert numbers.weighted_load == D("3.5")
    assert numbers.percent_display == "26.9%"


def test_ratings_keep_their_scheme_version(team, social_worker, default_scheme):
    case = CaseFactory(team=team)
    hold(case, social_worker)
    old = rate(case, default_scheme, 2, 2, 2, on=days_ago(20))
    draft = weighting.scheme_draft_new_version(team=team, by=None)
    specs = weighting.criteria_of(draft)
    specs[0] = CriterionSpec("Complexity", "", [(D(1), "Low"), (D(5), "High")])
    weighting.scheme_update_draft(
        scheme=draft, name="Team scheme", benchmark=D(120), criteria=specs
    )
    new_scheme = weighting.scheme_agree(scheme=draft, agreed_on=days_ago(10), by=None)
    old.refresh_from_db()
    assert old.scheme == default_scheme
    assert old.total == 6
    assert [lv.level.value for lv in old.levels.all()] == [2, 2, 2]
    default_scheme.refresh_from_db()
    assert default_scheme.status == "agreed"  # the service-wide scheme still stands
    new = rate(case, new_scheme, 5, 3, 1, on=days_ago(5))
    assert new.scheme == new_scheme and new.total == 9
    # Before the team agreed its own version, the service's benchmark applied.
    assert caseload_numbers([social_worker], days_ago(15))[social_worker.pk].capacity == 100
    assert caseload_numbers([social_worker], days_ago(1))[social_worker.pk].capacity == 120


def test_an_agreed_scheme_cannot_be_edited(default_scheme):
    with pytest.raises(RuleBroken, match="cannot change"):
        weighting.scheme_update_draft(scheme=default_scheme, name="x", benchmark=D(1), criteria=[])


def test_agreeing_a_new_version_retires_the_last(team, default_scheme):
    first = weighting.scheme_agree(
        scheme=weighting.scheme_draft_new_version(team=team, by=None),
        agreed_on=days_ago(9),
        by=None,
    )
    second = weighting.scheme_agree(
        scheme=weighting.scheme_draft_new_version(team=team, by=None),
        agreed_on=days_ago(2),
        by=None,
    )
    first.refresh_from_db()
    assert (first.version, first.status) == (1, "retired")
    assert (second.version, second.status) == (2, "agreed")


def test_out_of_range_levels_are_refused_by_the_rules(team, default_scheme):
    case = CaseFactory(team=team)
    with pytest.raises(RuleBroken, match="rated from 1 to 3; 4 is not one of its levels"):
        rate(case, default_scheme, 4, 1, 1)
    with pytest.raises(RuleBroken, match="Choose a level of travel"):
        ids = criteria_ids(default_scheme)
        weighting.rating_create(
            case=case,
            levels={ids["Complexity"]: D(1), ids["Risk"]: D(1)},
            rated_on=days_ago(1),
            rated_by=None,
            status="interim",
        )
    assert not case.ratings.exists()


def test_out_of_range_levels_are_refused_by_the_database(team, default_scheme):
    rating = rate(CaseFactory(team=team), default_scheme, 1, 1, 1)
    row = rating.levels.first()
    no_such_level = Level.objects.order_by("-pk")[0].pk + 1
    with pytest.raises(IntegrityError), transaction.atomic():
        RatingLevel.objects.filter(pk=row.pk).update(level_id=no_such_level)
        connection.check_constraints(table_names=["weighting_ratinglevel"])


@pytest.mark.postgres
def test_a_level_of_another_criterion_is_refused_by_the_database(team, default_scheme):
    rating = rate(CaseFactory(team=team), default_scheme, 1, 1, 1)
    complexity, risk = rating.levels.all()[:2]
    with pytest.raises(IntegrityError), transaction.atomic():
        RatingLevel.objects.filter(pk=complexity.pk).update(level_id=risk.level_id)
        connection.check_constraints(table_names=["weighting_ratinglevel"])


def test_a_rating_total_cannot_be_negative_and_an_agreed_one_names_the_worker(team, default_scheme):
    rating = rate(CaseFactory(team=team), default_scheme, 1, 1, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        type(rating).objects.filter(pk=rating.pk).update(total=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        type(rating).objects.filter(pk=rating.pk).update(status="agreed")


def test_reductions_for_the_same_reason_cannot_overlap(social_worker):
    training = reason_named(social_worker, "Training")
    weighting.reduction_create(
        person=social_worker, reason=training, hours_per_week=D(2), start_date=days_ago(30)
    )
    with pytest.raises(RuleBroken, match="already has training time"):
        weighting.reduction_create(
            person=social_worker, reason=training, percentage=D(5), start_date=days_ago(10)
        )
    weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Trade union duties"),
        percentage=D(5),
        start_date=days_ago(10),
    )
    assert social_worker.reductions.count() == 2


def test_a_reduction_is_hours_or_a_percentage_in_the_database(social_worker):
    reduction = weighting.reduction_create(
        person=social_worker,
        reason=reason_named(social_worker, "Training"),
        hours_per_week=D(2),
        start_date=days_ago(30),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reduction.objects.filter(pk=reduction.pk).update(percentage=D(5))
    with pytest.raises(IntegrityError), transaction.atomic():
        Reduction.objects.filter(pk=reduction.pk).update(hours_per_week=D(40))


@pytest.mark.postgres
def test_past_reductions_for_the_same_reason_cannot_overlap_in_the_database(social_worker):
    training = reason_named(social_worker, "Training")
    Reduction.objects.create(
        person=social_worker,
        reason=training,
        hours_per_week=D(2),
        start_date=days_ago(60),
        end_date=days_ago(30),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Reduction.objects.create(
            person=social_worker,
            reason=training,
            hours_per_week=D(1),
            start_date=days_ago(40),
            end_date=days_ago(35),
        )


def test_experience_factors_have_dated_history(social_worker):
    weighting.experience_factor_set(
        person=social_worker, factor=D("0.8"), start_date=days_ago(200), reason="ASYE", by=None
    )
    weighting.experience_factor_set(
        person=social_worker, factor=D("0.9"), start_date=days_ago(50), reason="Review", by=None
    )
    with pytest.raises(RuleBroken, match="above 0, up to 1"):
        weighting.experience_factor_set(
            person=social_worker, factor=D("1.2"), start_date=days_ago(1), reason="", by=None
        )
    history = list(social_worker.experience_factors.values_list("factor", "end_date"))
    assert history == [(D("0.8"), days_ago(50)), (D("0.9"), None)]


def _workers(count: int):
    """`count` workers with a case each; set up in bulk, as only the reads are tested."""
    team = TeamFactory(service=ServiceFactory())
    scheme = weighting.scheme_create_default(service=team.service, agreed_on=days_ago(800))
    people = PersonFactory.create_batch(
        count, service=team.service, role=factory.Iterator(["asye", "social_worker"])
    )
    TeamMembership.objects.bulk_create(
        TeamMembership(person=person, team=team, start_date=days_ago(100)) for person in people
    )
    cases = CaseFactory.create_batch(count, team=team)
    Allocation.objects.bulk_create(
        Allocation(case=case, person=person, start_date=days_ago(30))
        for case, person in zip(cases, people, strict=True)
    )
    for case in cases[::10]:
        rate(case, scheme, 2, 3, 1, status="provisional")
    training = reason_named(team.service, "Training")
    Reduction.objects.bulk_create(
        Reduction(person=person, reason=training, hours_per_week=D(2), start_date=days_ago(9))
        for person in people[::7]
    )
    return people


@pytest.mark.parametrize("count", [5, 500])
def test_the_numbers_take_the_same_queries_for_5_and_500_people(
    db, count, django_assert_max_num_queries
):
    people = _workers(count)
    # People with their teams, what they hold, schemes with their terms,
    # experience factors with reductions.
    with django_assert_max_num_queries(4):
        numbers = caseload_numbers(people, timezone.localdate())
    assert len(numbers) == count
    assert sum(n.case_count for n in numbers.values()) == count


def test_protected_hours_are_a_share_of_the_services_full_time_week(team, default_scheme):
    """A 35-hour service: 0.8 FTE works 28 hours; 7 protected hours are a
    quarter of them, so capacity is 100 × 0.8 × (1 − 7/28) = 60 (it would be
    100 × 0.8 × (1 − 7/29.6) = 61.08… in a 37-hour service)."""
    team.service.full_time_hours = D(35)
    team.service.save()
    worker = member(team, fte=D("0.8"))
    weighting.reduction_create(
        person=worker,
        reason=reason_named(worker, "Training"),
        start_date=days_ago(5),
        hours_per_week=D(7),
    )
    assert caseload_numbers([worker], days_ago(0))[worker.pk].capacity == 60
    with pytest.raises(RuleBroken, match="no more than 35, a full-time week here"):
        weighting.reduction_create(
            person=worker,
            reason=reason_named(worker, "Other protected time"),
            start_date=days_ago(5),
            hours_per_week=D(36),
        )
