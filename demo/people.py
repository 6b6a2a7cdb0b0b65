"""The demo's services, people and teams: managers, workers and their
supervisors, the weighting schemes agreed, and what reduces each worker's
capacity (ASYE factors and protected time)."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Min

from caseload import services
from caseload.models import FteChange, Person, Service, Team, TeamMembership
from demo.council import Council
from demo.plan import ADULTS_SERVICE, ASYE, CHILDRENS_SERVICE, MOVED, TEAMS, TeamPlan
from weighting import services as weighting


def build_people_and_teams(council: Council) -> None:
    council.services[CHILDRENS_SERVICE] = Service.objects.create(
        name=CHILDRENS_SERVICE, kind=Service.Kind.CHILDREN
    )
    council.services[ADULTS_SERVICE] = Service.objects.create(
        name=ADULTS_SERVICE, kind=Service.Kind.ADULTS
    )
    add_person(
        council,
        "dmt",
        "Dana Morris",
        Person.Role.SENIOR_MANAGER,
        council.services[CHILDRENS_SERVICE],
    )
    add_person(
        council,
        "dmt.adults",
        "Rob Ellis",
        Person.Role.SENIOR_MANAGER,
        council.services[ADULTS_SERVICE],
    )
    add_person(council, "admin", "Alex Morgan", Person.Role.ADMINISTRATOR, None)
    for service in council.services.values():
        weighting.scheme_create_default(service=service, agreed_on=council.days_ago(800))
        weighting.reduction_reasons_create_default(service=service)
        weighting.pause_reasons_create_default(service=service)
    council.scheme_changes.append(council.days_ago(800))
    for plan in TEAMS:
        build_team(council, plan)
    build_team_scheme(council)
    build_capacity(council)
    build_fte_history(council)


def add_person(
    council: Council,
    username: str,
    full_name: str,
    role: str,
    service: Service | None,
    fte: str = "1.00",
) -> Person:
    user = get_user_model().objects.create(
        username=username, password=council.password, email=f"{username}@example.org"
    )
    person = Person.objects.create(
        user=user, full_name=full_name, role=role, service=service, fte=Decimal(fte)
    )
    # The administrator is staff in the Administrators group, never a superuser.
    services.person_keep_access(person)
    council.people[username] = person
    return person


def build_team(council: Council, plan: TeamPlan) -> None:
    service = council.services[plan.service]
    team = Team.objects.create(service=service, name=plan.name, aspiration=Decimal(plan.aspiration))
    council.teams[plan.name] = team
    manager = add_person(
        council, plan.manager[0], plan.manager[1], Person.Role.TEAM_MANAGER, service
    )
    team.managers.add(manager)
    for member in plan.members:
        person = add_person(
            council, member.username, member.full_name, member.role, service, member.fte
        )
        person.supervisor = council.people[member.supervisor] if member.supervisor else manager
        if member.role == ASYE:
            person.asye_start_date = council.days_ago(member.joined_days_ago)
        person.save()
        if member.username in MOVED:
            earlier_team, joined = MOVED[member.username]
            services.membership_start(
                person=person, team=council.teams[earlier_team], start_date=council.days_ago(joined)
            )
        services.membership_start(
            person=person, team=team, start_date=council.days_ago(member.joined_days_ago)
        )


def build_team_scheme(council: Council) -> None:
    """Children with Disabilities agreed its own version: more points per
    worker, since many of its cases are short breaks reviews."""
    team = council.teams["Children with Disabilities"]
    draft = weighting.scheme_draft_new_version(team=team, by=team.managers.get())
    weighting.scheme_update_draft(
        scheme=draft,
        name="Children with Disabilities weighting",
        benchmark=Decimal("110"),
        criteria=weighting.criteria_of(draft),
    )
    weighting.scheme_agree(scheme=draft, agreed_on=council.days_ago(300), by=team.managers.get())
    council.scheme_changes.append(council.days_ago(300))


def build_capacity(council: Council) -> None:
    """ASYE factors agreed in supervision, and some protected time."""
    for plan in TEAMS:
        for member in plan.members:
            if member.role != ASYE:
                continue
            person = council.people[member.username]
            weighting.experience_factor_set(
                person=person,
                factor=Decimal("0.8"),
                start_date=council.days_ago(member.joined_days_ago),
                reason="ASYE: about 80% of a full caseload to start",
                by=person.supervisor,
            )
            if member.joined_days_ago > 150:
                weighting.experience_factor_set(
                    person=person,
                    factor=Decimal("0.9"),
                    start_date=council.days_ago(member.joined_days_ago - 120),
                    reason="Agreed in supervision at the four-month review",
                    by=person.supervisor,
                )
    reductions = [
        ("worker", "Practice educator", {"hours_per_week": Decimal("3.7")}, 200, None),
        ("daniel.reid", "Trade union duties", {"percentage": Decimal("10")}, 400, None),
        ("katie.lewis", "Training", {"hours_per_week": Decimal("2")}, 300, 200),
        ("hannah.wood", "Phased return to work", {"percentage": Decimal("20")}, 60, 20),
    ]
    for username, reason, amount, since, until in reductions:
        person = council.people[username]
        weighting.reduction_create(
            person=person,
            reason=person.service.reduction_reasons.get(name=reason),
            start_date=council.days_ago(since),
            end_date=council.days_ago(until) if until else None,
            by=person.supervisor,
            **amount,
        )


def build_fte_history(council: Council) -> None:
    """Each person's FTE from the day they joined their first team (from the
    start of the demo's history, for those in none), and one change planned:
    Chloe Evans goes from three days a week to four in four weeks' time."""
    first_days = dict(
        TeamMembership.objects.values("person")
        .annotate(first=Min("start_date"))
        .values_list("person", "first")
    )
    FteChange.objects.bulk_create(
        FteChange(
            person=person,
            fte=person.fte,
            start_date=first_days.get(person.pk, council.days_ago(council.history_days)),
        )
        for person in council.people.values()
    )
    chloe = council.people["chloe.evans"]
    services.fte_change(
        person=chloe,
        fte=Decimal("0.80"),
        start_date=council.today + datetime.timedelta(weeks=4),
        recorded_by=chloe.supervisor,
    )
