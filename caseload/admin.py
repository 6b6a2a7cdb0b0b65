"""Administration of the core records: teams, people, team memberships and
cases. Services are administered in `weighting.admin` (a new service starts
with the default scheme) and allocations in `allocation.admin`.

Dated records are append-only here as everywhere: team memberships are
added through the same write functions the pages use, never edited in place.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.autocomplete import AutocompleteJsonView
from django.contrib.admin.widgets import AdminDateWidget
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from caseload import access, audit, services
from caseload import admin_accounts as admin_accounts  # log-ins, groups, sign-in logs
from caseload.admin_history import HistoryAdmin
from caseload.dates import long_date
from caseload.models import Case, Person, Team, TeamMembership


def _acting_person(request: HttpRequest) -> Person | None:
    return access.person_of(request.user)


def audit_changelist(
    request: HttpRequest, response: HttpResponse, listing: str, case_of: Callable[[Any], int]
) -> None:
    """One audit row for a page of a change list that shows case references,
    naming the cases of the rows shown (read once: the page reuses them)."""
    change_list = (getattr(response, "context_data", None) or {}).get("cl")
    if change_list is not None:
        shown = [case_of(row) for row in change_list.result_list]
        audit.record_listing(request.user, listing, shown)


def audit_one(model_admin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> None:
    """The view row of a page about one record (its form, its history); none
    for a record that is not there, which the admin then reports."""
    if request.method == "GET":
        record = model_admin.get_object(request, unquote(object_id))
        if record is not None:
            audit.record(request.user, audit.Action.VIEW, record)


class AuditedAdmin:
    """For the admin of a record the audit covers: a page about one record
    (its form, its history) writes a view row, a page of the change list one
    listing row naming its cases (`audit_case_field` of each row)."""

    audit_listing: str
    audit_case_field = "case_id"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        """Less the rows of restricted cases the user is not named on: not
        listed, found, shown or changed (a 404-like "does not exist")."""
        queryset = super().get_queryset(request)  # type: ignore[misc]
        case = "" if queryset.model is Case else "case__"
        return queryset.filter(access.not_hidden_from(request.user, case))

    def changelist_view(self, request, extra_context=None):  # type: ignore[no-untyped-def]
        response = super().changelist_view(request, extra_context)  # type: ignore[misc]
        audit_changelist(
            request, response, self.audit_listing, lambda row: getattr(row, self.audit_case_field)
        )
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):  # type: ignore[no-untyped-def]
        audit_one(self, request, object_id)  # type: ignore[arg-type]
        return super().change_view(request, object_id, form_url, extra_context)  # type: ignore[misc]

    def history_view(self, request, object_id, extra_context=None):  # type: ignore[no-untyped-def]
        audit_one(self, request, object_id)  # type: ignore[arg-type]
        return super().history_view(request, object_id, extra_context)  # type: ignore[misc]

    def history_form_view(self, request, object_id, version_id, extra_context=None):  # type: ignore[no-untyped-def]
        audit_one(self, request, object_id)  # type: ignore[arg-type]
        return super().history_form_view(request, object_id, version_id, extra_context)  # type: ignore[misc]


class CaseSearchView(AutocompleteJsonView):
    """The admin's search-as-you-type (choosing an allocation's case): a
    search that answers with cases writes one audit row naming them."""

    def get_context_data(self, **kwargs):  # type: ignore[no-untyped-def]
        context = super().get_context_data(**kwargs)
        if self.model_admin.model is Case:
            shown = [case.pk for case in context["object_list"]]
            audit.record_listing(self.request.user, audit.Listing.ADMIN_CASE_SEARCH, shown)
        return context


class TeamAdminForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["service", "name", "aspiration", "managers"]

    def clean_service(self):  # type: ignore[no-untyped-def]
        service = self.cleaned_data["service"]
        try:
            services.check_team_service(team=self.instance, service=service)
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return service

    def clean_managers(self):  # type: ignore[no-untyped-def]
        managers = self.cleaned_data["managers"]
        try:
            services.check_team_managers(team=self.instance, managers=managers)
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return managers


@admin.register(Team)
class TeamAdmin(HistoryAdmin):
    form = TeamAdminForm
    list_display = ["name", "service", "aspiration"]
    list_filter = ["service"]
    search_fields = ["name"]
    filter_horizontal = ["managers"]

    def formfield_for_manytomany(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "managers":
            kwargs["queryset"] = Person.objects.filter(role=Person.Role.TEAM_MANAGER)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class PersonAdminForm(forms.ModelForm):
    """A person's details. Their log-in is fixed once made (moving the record
    onto another log-in would let its holder sign in as them)."""

    class Meta:
        model = Person
        fields = ["full_name", "role", "service", "fte", "supervisor", "asye_start_date"]

    def clean_role(self) -> str:
        role = self.cleaned_data["role"]
        if self.instance.pk and role != self.instance.role:
            try:
                services.check_role_change(person=self.instance, role=role)
            except services.RuleBroken as error:
                raise forms.ValidationError(error.messages) from None
        return role

    def clean_supervisor(self):  # type: ignore[no-untyped-def]
        supervisor = self.cleaned_data["supervisor"]
        try:
            services.check_supervisor(person=self.instance, supervisor=supervisor)
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return supervisor


def _two_places(fte: Decimal) -> Decimal:
    """An FTE as it is stored (SQLite gives a computed one without its places)."""
    return fte.quantize(Decimal("0.01"))


class PersonChangeForm(PersonAdminForm):
    """A person's details. Their FTE is dated: a new one is recorded from a
    day (`services.fte_change`), ending the one before, never written over it."""

    new_fte = forms.DecimalField(
        label="FTE",
        max_digits=3,
        decimal_places=2,
        required=False,
        help_text="Their FTE today. Enter another to record a change.",
    )
    fte_from = forms.DateField(
        label="New FTE applies from",
        required=False,
        widget=AdminDateWidget,
        help_text="The first day of the new FTE: today if left blank. A later day changes "
        "no figure of today.",
    )

    class Meta(PersonAdminForm.Meta):
        fields = [name for name in PersonAdminForm.Meta.fields if name != "fte"]

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fte_today = _two_places(
            Person.objects.with_fte_on(today)
            .values_list("fte_on_day", flat=True)
            .get(pk=self.instance.pk)
        )
        self.fields["new_fte"].initial = self.fte_today
        self.fields["fte_from"].initial = today

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        fte = cleaned.get("new_fte")
        if fte is not None and fte != self.fte_today:
            try:
                services.check_fte_change(person=self.instance, fte=fte, start_date=self.fte_start)
            except services.RuleBroken as error:
                self.add_error("new_fte", error.messages)
        return cleaned

    @property
    def fte_start(self) -> datetime.date:
        return self.cleaned_data.get("fte_from") or timezone.localdate()

    @property
    def fte_changed(self) -> bool:
        fte = self.cleaned_data.get("new_fte")
        return fte is not None and fte != self.fte_today


class PersonAddForm(PersonAdminForm):
    """A new person with a log-in that has no password: they set their own
    from the invitation, so nobody else ever knows it."""

    username = forms.CharField(label="User name", max_length=150)
    email = forms.EmailField(
        label="Email address", required=False, help_text="Where the invitation goes."
    )
    send_invitation = forms.BooleanField(
        label="Send an invitation to set a password",
        required=False,
        initial=True,
        help_text="An email with a link that works once, for a few days.",
    )

    class Meta(PersonAdminForm.Meta):
        fields = ["username", "email", *PersonAdminForm.Meta.fields, "send_invitation"]

    def clean_username(self) -> str:
        from django.contrib.auth import get_user_model

        username = self.cleaned_data["username"].strip()
        if get_user_model().objects.filter(username__iexact=username).exists():
            raise forms.ValidationError(f"The user name {username} is already taken.")
        return username


class MembershipInline(admin.TabularInline):
    model = TeamMembership
    fields = ["team", "start_date", "end_date"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Person)
class PersonAdmin(HistoryAdmin):
    form = PersonAdminForm
    list_display = ["full_name", "role", "service", "fte_today", "supervisor"]
    list_filter = ["role", "service"]
    search_fields = ["full_name", "user__username"]
    autocomplete_fields = ["supervisor"]
    inlines = [MembershipInline]
    actions = ["send_invitation"]

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        kwargs["form"] = PersonAddForm if obj is None else PersonChangeForm
        return super().get_form(request, obj, change, **kwargs)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        return super().get_queryset(request).with_fte_on(timezone.localdate())

    @admin.display(description="FTE today", ordering="fte_on_day")
    def fte_today(self, obj: Person) -> Decimal:
        return _two_places(obj.fte_on_day)

    @admin.display(description="FTE over time")
    def fte_over_time(self, obj: Person) -> str:
        rows = [
            f"{row.fte} from {long_date(row.start_date)}"
            + (f" to {long_date(row.end_date)}" if row.end_date else "")
            for row in obj.fte_history.all()
        ]
        return format_html_join(mark_safe("<br>"), "{}", ((row,) for row in rows)) or "–"

    def get_search_results(self, request, queryset, search_term):  # type: ignore[no-untyped-def]
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if request.GET.get("model_name") == "person" and request.GET.get("field_name") == (
            "supervisor"
        ):
            # The supervisor box offers only people who may supervise.
            found = found.exclude(role__in=services.CANNOT_SUPERVISE)
        return found, duplicates

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        if obj is None:
            return list(PersonAddForm.Meta.fields)
        fields = ["user", *PersonChangeForm.Meta.fields]
        at = fields.index("service") + 1
        return [*fields[:at], "new_fte", "fte_from", "fte_over_time", *fields[at:]]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        if obj is None:
            return []
        if obj == _acting_person(request):
            return ["user", "role", "fte_over_time"]  # another administrator changes your role
        return ["user", "fte_over_time"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            with transaction.atomic():
                if "role" in form.changed_data:
                    services.person_change_role(person=obj, role=obj.role)
                super().save_model(request, obj, form, change)
                if form.fte_changed:
                    services.fte_change(
                        person=obj,
                        fte=form.cleaned_data["new_fte"],
                        start_date=form.fte_start,
                        recorded_by=_acting_person(request),
                    )
            return
        data = form.cleaned_data
        saved = services.person_create(
            username=data["username"],
            email=data["email"],
            full_name=obj.full_name,
            role=obj.role,
            service=obj.service,
            fte=obj.fte,
            supervisor=obj.supervisor,
            asye_start_date=obj.asye_start_date,
        )
        obj.pk, obj.user = saved.pk, saved.user
        obj._state.adding = False
        if data["send_invitation"]:
            if services.people_invite(people=[saved], by=_acting_person(request)):
                messages.info(request, f"An invitation to set a password is on its way to {obj}.")
            else:
                messages.warning(request, f"No invitation sent: {obj} has no email address.")

    @admin.action(description="Send an invitation to set a password", permissions=["change"])
    def send_invitation(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        people = list(queryset.select_related("user"))
        sent = services.people_invite(people=people, by=_acting_person(request))
        if sent:
            messages.success(request, f"Sent {sent} invitation{'s' if sent != 1 else ''}.")
        if len(people) > sent:
            messages.warning(
                request,
                f"{len(people) - sent} not sent: only people with an email address who have "
                "not yet set a password are invited.",
            )


class MembershipAddForm(forms.ModelForm):
    class Meta:
        model = TeamMembership
        fields = ["person", "team", "start_date"]

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.check_membership_start(
                person=cleaned["person"], team=cleaned["team"], start_date=cleaned["start_date"]
            )
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return cleaned


@admin.register(TeamMembership)
class TeamMembershipAdmin(HistoryAdmin):
    """Moves between teams: adding a membership ends the person's current one."""

    list_display = ["person", "team", "start_date", "end_date"]
    list_filter = ["team"]
    search_fields = ["person__full_name"]
    autocomplete_fields = ["person"]

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = MembershipAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["person", "team", "start_date", "end_date"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            return
        saved = services.membership_start(
            person=obj.person, team=obj.team, start_date=obj.start_date
        )
        obj.pk = saved.pk


class CaseAdminForm(forms.ModelForm):
    class Meta:
        model = Case
        fields = [
            "team",
            "reference",
            "label",
            "case_type",
            "people_count",
            "priority",
            "opened_on",
        ]

    def clean_opened_on(self):  # type: ignore[no-untyped-def]
        opened_on = self.cleaned_data["opened_on"]
        if opened_on > timezone.localdate():
            raise forms.ValidationError("A case cannot be opened in the future.")
        return opened_on

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        # On a change the team is read-only (not in the form): the case's own service.
        team, reference = cleaned.get("team"), cleaned.get("reference")
        service_id = team.service_id if team else self.instance.service_id
        if (
            service_id
            and reference
            and Case.objects.filter(service_id=service_id, reference=reference)
            .exclude(pk=self.instance.pk)
            .exists()
        ):
            self.add_error("reference", f"There is already a case {reference} in this service.")
        return cleaned


@admin.register(Case)
class CaseAdmin(AuditedAdmin, HistoryAdmin):
    audit_listing = audit.Listing.ADMIN_CASES
    audit_case_field = "pk"
    form = CaseAdminForm
    list_display = ["reference", "label", "team", "case_type", "people_count", "status"]
    list_filter = ["status", "case_type", "team"]
    search_fields = ["reference", "label"]
    actions = ["close_today"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # Moving a case between teams and closing it are journeys of their own.
        return ["team", "opened_on", "status", "closed_on"] if obj else ["status", "closed_on"]

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if not change:
            obj.service_id = obj.team.service_id
        with transaction.atomic():
            super().save_model(request, obj, form, change)
            audit.record(request.user, audit.Action.CHANGE if change else audit.Action.CREATE, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.action(description="Close the selected cases today (ends their allocations)")
    def close_today(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        closed = 0
        for case in queryset:
            try:
                services.case_close(
                    case=case, closed_on=timezone.localdate(), by=_acting_person(request)
                )
                closed += 1
            except services.RuleBroken as error:
                messages.error(request, " ".join(error.messages))
        if closed:
            messages.success(request, f"Closed {closed} case{'s' if closed != 1 else ''}.")
