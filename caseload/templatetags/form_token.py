"""`{% form_token %}`: a form's single-use token (caseload.resubmission)."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from caseload.resubmission import FIELD, new_token

register = template.Library()


@register.simple_tag
def form_token() -> SafeString:
    return format_html('<input type="hidden" name="{}" value="{}">', FIELD, new_token())
