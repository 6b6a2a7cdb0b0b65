"""Administration of weighting, and of services, each of which starts with
the default weighting scheme. Agreed schemes and ratings are history: they
are shown, never edited here. Experience factors and reductions are added
through the same write functions as everywhere else."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.utils import timezone

from caseload import access, audit
from caseload.admin import AuditedAdmin
from caseload.admin_history import HistoryAdmin
from caseload.models import Service
from weighting import services
from weighting.models import (
    Criterion,
    ExperienceFactor,
    Level,
    PauseReason,
    Rating,
    RatingLevel,
    Reduction,
    ReductionReason,
    Scheme,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CriterionInline(admin.TabularInline):
    model = Criterion
    fields = ["position", "name", "description"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class ReductionReasonInline(admin.TabularInline):
    """The service's reasons for protected time. A reason is never deleted:
    one no longer offered is made inactive, and still names its reductions."""

    model = ReductionReason
    fields = [
        "name",
        "default_hours_per_week",
        "default_percentage",
        "maximum_hours_per_week",
        "maximum_percentage",
        "maximum_weeks",
        "reminder_days",
        "active",
    ]
    extra = 0
    can_delete = False
    verbose_name = "reason for protected time"
    verbose_name_plural = "reasons for protected time"


class PauseReasonInline(admin.TabularInline):
    """The service's reasons for pausing a case. A reason is never deleted:
    one no longer offered is made inactive, and still names its pauses."""

    model = PauseReason
    fields = ["name", "factor", "maximum_weeks", "active"]
    extra = 0
    can_delete = False
    verbose_name = "reason for pausing a case"
    verbose_name_plural = "reasons for pausing a case"


@admin.register(Service)
class ServiceAdmin(HistoryAdmin):
    list_display = ["name", "kind", "band_green_from", "band_amber_above", "band_red_from"]
    search_fields = ["name"]
    inlines = [ReductionReasonInline, PauseReasonInline]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if not change:
            # A new service starts with the default weighting scheme, agreed
            # today; teams may then agree their own versions.
            services.scheme_create_default(
                service=obj,
                agreed_on=timezone.localdate(),
                recorded_by=access.person_of(request.user),
            )

    def save_related(self, request, form, formsets, change):  # type: ignore[no-untyped-def]
        super().save_related(request, form, formsets, change)
        if not change:
            # After the reasons given on the page, so that one of the same
            # name is theirs, not the default's.
            services.reduction_reasons_create_default(service=form.instance)
            services.pause_reasons_create_default(service=form.instance)


@admin.register(ReductionReason)
class ReductionReasonAdmin(HistoryAdmin):
    list_display = [
        "name",
        "service",
        "default_hours_per_week",
        "default_percentage",
        "maximum_hours_per_week",
        "maximum_percentage",
        "maximum_weeks",
        "reminder_days",
        "active",
    ]
    list_filter = ["service", "active"]
    list_select_related = ["service"]
    search_fields = ["name"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # A reason names its reductions: it stays in its service.
        return ["service"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(PauseReason)
class PauseReasonAdmin(HistoryAdmin):
    list_display = ["name", "service", "factor", "maximum_weeks", "active"]
    list_filter = ["service", "active"]
    list_select_related = ["service"]
    search_fields = ["name"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        # A reason names its pauses: it stays in its service.
        return ["service"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Scheme)
class SchemeAdmin(ReadOnlyAdmin):
    list_display = ["name", "version", "service", "team", "status", "agreed_on", "benchmark"]
    list_filter = ["status", "service"]
    inlines = [CriterionInline]


class LevelInline(admin.TabularInline):
    model = Level
    fields = ["value", "descriptor"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Criterion)
class CriterionAdmin(ReadOnlyAdmin):
    list_display = ["name", "scheme", "position"]
    inlines = [LevelInline]


@admin.register(Level)
class LevelAdmin(ReadOnlyAdmin):
    list_display = ["criterion", "value", "descriptor"]


class RatingLevelInline(admin.TabularInline):
    model = RatingLevel
    fields = ["criterion", "level", "anticipated_level", "anticipated_change"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Rating)
class RatingAdmin(AuditedAdmin, ReadOnlyAdmin):
    audit_listing = audit.Listing.ADMIN_RATINGS
    list_display = ["case", "rated_on", "status", "total", "scheme", "rated_by"]
    list_filter = ["status"]
    search_fields = ["case__reference"]
    inlines = [RatingLevelInline]


class ExperienceFactorForm(forms.ModelForm):
    class Meta:
        model = ExperienceFactor
        fields = ["person", "factor", "start_date", "reason"]

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.check_experience_factor(
                person=cleaned["person"],
                factor=cleaned["factor"],
                start_date=cleaned["start_date"],
            )
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return cleaned


@admin.register(ExperienceFactor)
class ExperienceFactorAdmin(HistoryAdmin):
    """Adding a factor ends the person's current one: history is kept."""

    form = ExperienceFactorForm
    list_display = ["person", "factor", "start_date", "end_date", "reason"]
    search_fields = ["person__full_name"]
    autocomplete_fields = ["person"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return ["person", "factor", "start_date", "end_date", "reason"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            return
        saved = services.experience_factor_set(
            person=obj.person,
            factor=obj.factor,
            start_date=obj.start_date,
            reason=obj.reason,
            by=access.person_of(request.user),
        )
        obj.pk = saved.pk


class ReasonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ReductionReason) -> str:  # type: ignore[override]
        return f"{obj.service}: {obj.name}"


class ReductionForm(forms.ModelForm):
    """A reason from the person's service's list; with no size given, the
    reason's default, and with no end date, its longest length if it has one."""

    reason = ReasonChoiceField(
        queryset=ReductionReason.objects.offered().select_related("service"),
        help_text="A reason from the person's service's list.",
    )

    class Meta:
        model = Reduction
        fields = [
            "person",
            "reason",
            "detail",
            "hours_per_week",
            "percentage",
            "start_date",
            "end_date",
        ]

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            terms = services.check_reduction(
                person=cleaned["person"],
                reason=cleaned["reason"],
                start_date=cleaned["start_date"],
                end_date=cleaned.get("end_date"),
                hours_per_week=cleaned.get("hours_per_week"),
                percentage=cleaned.get("percentage"),
            )
        except services.RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        # The record as it will be saved (the reason's size and end date).
        cleaned["hours_per_week"], cleaned["percentage"] = terms.hours_per_week, terms.percentage
        cleaned["end_date"] = terms.end_date
        return cleaned


@admin.register(Reduction)
class ReductionAdmin(HistoryAdmin):
    form = ReductionForm
    list_display = ["person", "reason", "hours_per_week", "percentage", "start_date", "end_date"]
    list_filter = ["reason__service", "reason__name"]
    list_select_related = ["person", "reason"]
    search_fields = ["person__full_name"]
    autocomplete_fields = ["person"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [field.name for field in Reduction._meta.fields] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            return
        saved = services.reduction_create(
            person=obj.person,
            reason=obj.reason,
            detail=obj.detail,
            hours_per_week=obj.hours_per_week,
            percentage=obj.percentage,
            start_date=obj.start_date,
            end_date=obj.end_date,
            by=access.person_of(request.user),
        )
        obj.pk = saved.pk
