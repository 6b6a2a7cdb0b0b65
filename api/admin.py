"""Administrators set up the systems that send case events: a new system's
token is shown once when it is added; the token is rotated (a new one,
the old ones stopping after a day) or revoked by an action."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from api.models import ApiClient
from api.tokens import ROTATION_OVERLAP, NewToken, token_issue, token_rotate, tokens_revoke
from caseload.admin_history import HistoryAdmin


@admin.register(ApiClient)
class ApiClientAdmin(HistoryAdmin):
    filter_horizontal = ["services"]
    list_display = ["name", "service_names", "working_tokens"]
    actions = ["rotate_token", "revoke_tokens"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ApiClient]:
        return super().get_queryset(request).prefetch_related("services", "tokens")

    @admin.display(description="services")
    def service_names(self, client: ApiClient) -> str:
        return ", ".join(s.name for s in client.services.all())

    @admin.display(description="working tokens")
    def working_tokens(self, client: ApiClient) -> str:
        now = timezone.now()
        working = [t for t in client.tokens.all() if t.revoked_at is None and t.expires_at > now]
        return ", ".join(t.prefix for t in working) or "none"

    def get_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        fields = ["name", "services", "sees_restricted", "disables_people"]
        return fields if obj is None else [*fields, "tokens_shown"]

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [] if obj is None else ["tokens_shown"]

    @admin.display(description="tokens")
    def tokens_shown(self, client: ApiClient) -> str:
        """Each token by its prefix, never its secret: made, expires, revoked."""
        rows = [
            (
                token.prefix,
                f"made {timezone.localtime(token.created_at):%d %b %Y %H:%M}",
                f"revoked {timezone.localtime(token.revoked_at):%d %b %Y %H:%M}"
                if token.revoked_at
                else f"expires {timezone.localtime(token.expires_at):%d %b %Y %H:%M}",
            )
            for token in client.tokens.order_by("-created_at")
        ]
        return format_html_join(mark_safe("<br>"), "{}: {}, {}", rows) or "none"

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False  # its events name it: revoke its tokens instead

    def save_model(self, request, obj, form, change):  # type: ignore[no-untyped-def]
        super().save_model(request, obj, form, change)
        if not change:
            request._new_api_token = token_issue(client=obj, by=request.user)  # type: ignore[attr-defined]

    def response_add(self, request, obj, post_url_continue=None):  # type: ignore[no-untyped-def]
        return _token_page(request, obj, request._new_api_token, overlap=False)

    @admin.action(
        description="Rotate the token (the old one stops after a day)", permissions=["change"]
    )
    def rotate_token(
        self, request: HttpRequest, queryset: QuerySet[ApiClient]
    ) -> HttpResponse | None:
        if queryset.count() != 1:
            messages.error(request, "Choose one system at a time: its new token is shown once.")
            return None
        with transaction.atomic():
            client = queryset.get()
            new = token_rotate(client=client, by=request.user)
        return _token_page(request, client, new, overlap=True)

    @admin.action(description="Revoke every token now", permissions=["change"])
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[ApiClient]) -> None:
        revoked = sum(tokens_revoke(client=client) for client in queryset)
        messages.success(request, f"Revoked {revoked} token{'s' if revoked != 1 else ''}.")


def _token_page(
    request: HttpRequest, client: ApiClient, new: NewToken, *, overlap: bool
) -> HttpResponse:
    return TemplateResponse(
        request,
        "admin/api/token_shown.html",
        {
            **admin.site.each_context(request),
            "client": client,
            "token": new.value,
            "expires_at": new.token.expires_at,
            "overlap_until": timezone.now() + ROTATION_OVERLAP if overlap else None,
        },
    )
