"""Factories for the core records. Dated rows go through the write functions
where a rule matters; factories only set up the plain records."""

import datetime
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from caseload.models import Case, Person, Service, Team, TeamMembership
from weighting.models import ReductionReason
from weighting.services import pause_reasons_create_default, reduction_reasons_create_default


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password("correct horse battery staple")


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Service {n}")
    kind = Service.Kind.CHILDREN

    @factory.post_generation
    def reduction_reasons(service, create, extracted, **kwargs):
        """Every service starts with the default reasons for protected time."""
        if create:
            reduction_reasons_create_default(service=service)
            pause_reasons_create_default(service=service)


def reason_named(owner: Person | Service, name: str) -> ReductionReason:
    """The reason of that name (any capitals) on a service's list, or on a person's service's."""
    service = owner.service if isinstance(owner, Person) else owner
    return service.reduction_reasons.get(name__iexact=name)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    service = factory.SubFactory(ServiceFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    aspiration = Decimal("20.0")


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    user = factory.SubFactory(UserFactory)
    full_name = factory.Sequence(lambda n: f"Person {n}")
    role = Person.Role.SOCIAL_WORKER
    fte = Decimal("1.00")


def member(team: Team, *, since: datetime.date | None = None, **person_fields) -> Person:
    """A person in `team` since `since` (a year ago by default)."""
    person_fields.setdefault("service", team.service)
    person = PersonFactory(**person_fields)
    TeamMembership.objects.create(
        person=person,
        team=team,
        start_date=since or timezone.localdate() - datetime.timedelta(days=365),
    )
    return person


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    team = factory.SubFactory(TeamFactory)
    service = factory.LazyAttribute(lambda case: case.team.service)
    reference = factory.Sequence(lambda n: f"C-{1000 + n}")
    label = "Family support"
    case_type = Case.Type.CHILD_IN_NEED
    people_count = 2
    opened_on = factory.LazyFunction(lambda: timezone.localdate() - datetime.timedelta(days=90))
