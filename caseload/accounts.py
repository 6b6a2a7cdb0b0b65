"""Log-ins: what an administrator may do in the admin, and the links that
let a new person set their own password.

Administrators are staff, never superusers: they get the permissions of the
Administrators group and nothing else. `services.person_keep_access` keeps
the group in step with each person's role.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db.models import Q
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

ADMINISTRATORS = "Administrators"

# What an administrator's work needs in the admin, and no more: setting up
# services, teams and people, cases and allocations through the rules,
# protected time and experience factors, reading schemes, analyses, sign-in
# logs and the superuser audit. No deletion anywhere, no groups or
# permissions, no supervision records or views of workload (they have no
# admin pages at all). Migration caseload 0017 gave the group these, and
# weighting 0009 the services' reasons for protected time; a later change to
# them needs a migration too (caseload 0028 added the sign-in identities).
ADMINISTRATOR_PERMISSIONS = {
    # The systems that send case events, and their tokens (api 0002).
    "api": ["view_apiclient", "add_apiclient", "change_apiclient"],
    "auth": ["view_user", "change_user"],
    "axes": ["view_accessattempt", "view_accesslog", "view_accessfailurelog"],
    "caseload": [
        "view_service",
        "add_service",
        "change_service",
        "view_team",
        "add_team",
        "change_team",
        "view_person",
        "add_person",
        "change_person",
        "view_teammembership",
        "add_teammembership",
        "view_case",
        "add_case",
        "change_case",
        "view_allocation",
        "add_allocation",
        "view_superuserrequest",
        "view_signinidentity",
        "add_signinidentity",
    ],
    "reports": [
        "view_caseloadsnapshot",
        "view_caseloadanalysis",
        "view_escalation",
        "view_quarterlyreview",
    ],
    "weighting": [
        "view_scheme",
        "view_criterion",
        "view_level",
        "view_rating",
        "view_experiencefactor",
        "add_experiencefactor",
        "view_reduction",
        "add_reduction",
        "view_reductionreason",
        "add_reductionreason",
        "change_reductionreason",
        "view_pausereason",
        "add_pausereason",
        "change_pausereason",
    ],
}


def administrators_group() -> Group:
    """The Administrators group, made with its permissions if a database
    emptied since its migration no longer has it."""
    group, created = Group.objects.get_or_create(name=ADMINISTRATORS)
    if created:
        wanted = Q()
        for app_label, codenames in ADMINISTRATOR_PERMISSIONS.items():
            wanted |= Q(content_type__app_label=app_label, codename__in=codenames)
        group.permissions.set(Permission.objects.filter(wanted))
    return group


class InvitationTokens(PasswordResetTokenGenerator):
    """Tokens of the links that invite a new person to set their password.

    Django's password-reset tokens, under a key of their own: valid for
    PASSWORD_RESET_TIMEOUT seconds, and made from the log-in's password
    (none yet), last sign-in and email, so that setting a password (or a new
    email address) ends every link sent before."""

    key_salt = "caseload.accounts.InvitationTokens"


invitation_tokens = InvitationTokens()


def invitation_url(user: AbstractBaseUser) -> str:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    path = reverse("invitation", args=[uid, invitation_tokens.make_token(user)])
    return f"{settings.SITE_URL}{path}"


def invitation_days() -> int:
    return max(1, settings.PASSWORD_RESET_TIMEOUT // (24 * 60 * 60))
