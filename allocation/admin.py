"""Administration of allocations: added through the same rules as the
allocation pages, ended by an action, never edited in place."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from allocation import services
from caseload import access, audit
from caseload import services as caseload_services
from caseload.admin import AuditedAdmin
from caseload.admin_history import HistoryAdmin
from caseload.models import Allocation
from caseload.services import RuleBroken


class AllocationAddForm(forms.ModelForm):
    """Adds an allocation through the same rules as the allocation pages."""

    class Meta:
        model = Allocation
        fields = ["case", "person", "kind", "start_date", "reason", "review_by"]

    def clean(self):  # type: ignore[no-untyped-def]
        cleaned = super().clean()
        if self.errors:
            return cleaned
        try:
            services.check_allocation(
                case=cleaned["case"],
                person=cleaned["person"],
                kind=cleaned["kind"],
                start_date=cleaned["start_date"],
                review_by=cleaned.get("review_by"),
            )
        except RuleBroken as error:
            raise forms.ValidationError(error.messages) from None
        return cleaned


@admin.register(Allocation)
class AllocationAdmin(AuditedAdmin, HistoryAdmin):
    audit_listing = audit.Listing.ADMIN_ALLOCATIONS
    list_display = ["case", "person", "kind", "start_date", "end_date"]
    list_filter = ["kind"]
    search_fields = ["case__reference", "person__full_name"]
    autocomplete_fields = ["case", "person"]
    actions = ["end_today"]

    def get_form(self, request, obj=None, change=False, **kwargs):  # type: ignore[no-untyped-def]
        if obj is None:
            kwargs["form"] = AllocationAddForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        if obj is None:
            return []
        return [field.name for field in Allocation._meta.fields]

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        if change:
            return
        saved = services.allocation_create(
            case=obj.case,
            person=obj.person,
            kind=obj.kind,
            start_date=obj.start_date,
            allocated_by=access.person_of(request.user),
            reason=obj.reason,
            review_by=obj.review_by,
        )
        obj.pk = saved.pk

    @admin.action(description="End the selected allocations today")
    def end_today(self, request: HttpRequest, queryset: QuerySet[Allocation]) -> None:
        ended = 0
        for allocation in queryset.select_related("case"):
            try:
                caseload_services.allocation_end(
                    allocation=allocation,
                    end_date=timezone.localdate(),
                    ended_by=access.person_of(request.user),
                    reason="Ended by an administrator",
                )
                ended += 1
            except RuleBroken as error:
                messages.error(request, " ".join(error.messages))
        if ended:
            messages.success(request, f"Ended {ended} allocation{'s' if ended != 1 else ''}.")
