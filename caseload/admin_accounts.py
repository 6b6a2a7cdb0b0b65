"""Log-ins, groups, sign-in logs, identity-provider links and the superuser
audit in the admin.

An administrator changes a log-in's name, email and whether it is active,
and never sees or sets a password: people set their own from an invitation.
Staff and superuser status and groups follow from the person's role
(`services.person_keep_access`) and are shown, not edited, except by the
break-glass superuser. Sign-in logs and the superuser audit are read-only
for everyone.
"""

from __future__ import annotations

from axes.admin import AccessAttemptAdmin, AccessFailureLogAdmin, AccessLogAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest

from caseload.admin_history import HistoryAdmin
from caseload.models import SignInIdentity, SuperuserRequest


class ReadOnly:
    """Shown, never added, changed or deleted, whoever asks."""

    actions = None

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


admin.site.unregister(User)


@admin.register(User)
class LogInAdmin(HistoryAdmin, UserAdmin):
    # What an administrator sees of a log-in: no password, and access shown only.
    administrator_fieldsets = (
        (None, {"fields": ("username", "email", "first_name", "last_name", "is_active")}),
        (
            "Access (follows the person's role)",
            {"fields": ("is_staff", "is_superuser", "groups", "last_login", "date_joined")},
        ),
    )
    administrator_readonly_fields = (
        "is_staff",
        "is_superuser",
        "groups",
        "last_login",
        "date_joined",
    )

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None):  # type: ignore[no-untyped-def]
        if request.user.is_superuser:
            return super().get_fieldsets(request, obj)
        return self.administrator_fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None):  # type: ignore[no-untyped-def]
        if request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return self.administrator_readonly_fields

    def get_form(self, request, obj=None, **kwargs):  # type: ignore[no-untyped-def]
        if not request.user.is_superuser:
            # Django's change form for log-ins has a password field: a plain one has none.
            kwargs["form"] = admin.ModelAdmin.form
        return super().get_form(request, obj, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        # Only a superuser changes a superuser's log-in.
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def user_change_password(self, request, id, form_url=""):  # type: ignore[no-untyped-def]
        if not request.user.is_superuser:
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


admin.site.unregister(Group)


@admin.register(Group)
class PermissionGroupAdmin(HistoryAdmin, GroupAdmin):
    pass


for model, model_admin in (
    (AccessAttempt, AccessAttemptAdmin),
    (AccessLog, AccessLogAdmin),
    (AccessFailureLog, AccessFailureLogAdmin),
):
    # Unlocking is left to the cool-off (AXES_COOLOFF_MINUTES): no deletions here.
    admin.site.unregister(model)
    admin.site.register(model, type(model_admin.__name__, (ReadOnly, model_admin), {}))


@admin.register(SuperuserRequest)
class SuperuserRequestAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["at", "username", "method", "path"]
    list_filter = ["method"]
    search_fields = ["username", "path"]
    date_hierarchy = "at"


@admin.register(SignInIdentity)
class SignInIdentityAdmin(HistoryAdmin):
    """Who each log-in is at the identity provider. A person's first sign-in
    links them by the email address the provider vouches for; an
    administrator links someone whose address it does not (Entra ID, unless
    OIDC_ENTRA_TRUST_EMAIL) by their subject: Entra's object id of the user,
    with the issuer https://login.microsoftonline.com/<tenant id>/v2.0. A
    link is never changed; only the break-glass superuser removes one."""

    list_display = ["user", "issuer", "subject", "linked_at"]
    search_fields = ["user__username", "user__email", "subject"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
    fields = ["user", "issuer", "subject"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
