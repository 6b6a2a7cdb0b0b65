from django import template

from caseload import formatting

register = template.Library()
register.filter("plain_number", formatting.plain_number)
register.filter("one_decimal", formatting.one_decimal)
