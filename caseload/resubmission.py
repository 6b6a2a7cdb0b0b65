"""A form sent twice saves once (ADR 0019).

Each form that creates something carries a single-use token (the
`{% form_token %}` tag, a new one each time the form is shown). Its view,
decorated with `once_per_form`, records the token in the same transaction as
what it saves (ATOMIC_REQUESTS); a unique key makes a second submission of
the same token (a double click, a retry after a timeout, even at the same
moment on another server) wait for the first and then save nothing: it is
sent where the first was sent, with a word that it was sent before."""

from __future__ import annotations

import datetime
import functools
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils import timezone

from caseload.models import FormSubmission

FIELD = "form_token"
KEPT_FOR = datetime.timedelta(days=7)
SENT_BEFORE = "This form was already sent: here is what it did. Nothing was saved twice."

View = Callable[..., HttpResponse]


def new_token() -> str:
    return uuid.uuid4().hex


def _token(request: HttpRequest) -> uuid.UUID | None:
    if request.method != "POST":
        return None
    try:
        return uuid.UUID(request.POST.get(FIELD, ""))
    except ValueError:  # none, or not one of ours: the form is handled as it always was
        return None


def once_per_form(view: View) -> View:
    """The view's POST is done once per form token; a form sent again gets
    the first answer (a redirect). A form answered otherwise (its errors
    shown) was not done: corrected, it may be sent again with its token."""

    @functools.wraps(view)
    def once(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        token = _token(request)
        if token is None:
            return view(request, *args, **kwargs)
        try:
            with transaction.atomic():
                FormSubmission.objects.create(token=token, user=request.user)
        except IntegrityError:
            return _sent_before(request, token)
        response = view(request, *args, **kwargs)
        sent = FormSubmission.objects.filter(token=token)
        if response.status_code in (301, 302, 303) and response.has_header("Location"):
            sent.update(answer=response["Location"])
        else:
            sent.delete()
        return response

    return once


def _sent_before(request: HttpRequest, token: uuid.UUID) -> HttpResponse:
    sent = FormSubmission.objects.filter(token=token).first()
    if sent is None or sent.user_id != request.user.pk:
        raise BadRequest("This form was sent by someone else.")
    messages.info(request, SENT_BEFORE)
    return redirect(sent.answer or "home")


def forget_old(now: datetime.datetime | None = None) -> int:
    """Forget the tokens of forms sent more than a week ago."""
    now = now or timezone.now()
    deleted, _ = FormSubmission.objects.filter(sent_at__lt=now - KEPT_FOR).delete()
    return deleted
