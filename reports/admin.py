"""The stored analyses, read-only: jobs write them, and pages show them.
Analyses and reviews are re-run with the commands, never edited by hand."""

from django.contrib import admin

from reports.models import CaseloadAnalysis, CaseloadSnapshot, Escalation, QuarterlyReview
from weighting.admin import ReadOnlyAdmin


@admin.register(CaseloadSnapshot)
class CaseloadSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["person", "day", "team", "case_count", "weighted_load", "capacity", "band"]
    list_filter = ["band", "team"]
    date_hierarchy = "day"
    list_select_related = ["person", "team"]
    search_fields = ["person__full_name"]


@admin.register(CaseloadAnalysis)
class CaseloadAnalysisAdmin(ReadOnlyAdmin):
    list_display = ["person", "period_end", "average_load", "peak_load", "weeks_over_maximum"]
    list_select_related = ["person"]
    search_fields = ["person__full_name"]


@admin.register(Escalation)
class EscalationAdmin(ReadOnlyAdmin):
    list_display = ["person", "service", "over_since", "escalated_on", "status", "resolved_on"]
    list_filter = ["status", "service"]
    list_select_related = ["person", "service"]


@admin.register(QuarterlyReview)
class QuarterlyReviewAdmin(ReadOnlyAdmin):
    list_display = ["service", "quarter_end", "version", "taken_at", "people_per_fte"]
    list_filter = ["service"]
    list_select_related = ["service"]
