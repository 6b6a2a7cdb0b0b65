"""The import format guide, docs/import-format.md, as a page of the site: one
text for the repository and the site, drawn in the Design System's styles."""

from __future__ import annotations

import functools
import re
from pathlib import Path

from django.utils.safestring import SafeString, mark_safe
from markdown_it import MarkdownIt

GUIDE = Path(__file__).resolve().parent.parent / "docs" / "import-format.md"

# Each tag markdown-it writes, with the Design System's class for it.
CLASSES = {
    "h1": "govuk-heading-l",
    "h2": "govuk-heading-m",
    "h3": "govuk-heading-s",
    "p": "govuk-body",
    "ul": "govuk-list govuk-list--bullet",
    "ol": "govuk-list govuk-list--number",
    "table": "govuk-table",
    "thead": "govuk-table__head",
    "tbody": "govuk-table__body",
    "tr": "govuk-table__row",
    "th": "govuk-table__header",
    "td": "govuk-table__cell",
    "a": "govuk-link",
}
TAG = re.compile(r"<(" + "|".join(CLASSES) + r")(?=[ >])")


@functools.cache
def guide_html() -> SafeString:
    """The guide as HTML. Raw HTML in the text is escaped, not passed on;
    each heading gets an id to link to; a wide table scrolls on its own."""
    parser = MarkdownIt("commonmark", {"html": False}).enable("table")
    html = parser.render(GUIDE.read_text(encoding="utf-8"))
    html = TAG.sub(lambda m: f'<{m.group(1)} class="{CLASSES[m.group(1)]}"', html)
    html = re.sub(
        r'<(h[23]) class="([^"]+)">(.+?)</h[23]>',
        lambda m: (
            f'<{m.group(1)} class="{m.group(2)}" id="{_anchor(m.group(3))}">'
            f"{m.group(3)}</{m.group(1)}>"
        ),
        html,
    )
    html = html.replace(
        '<table class="govuk-table">',
        '<div class="app-table-scroll" role="region" aria-label="Columns of the sheet, '
        'scrolls sideways on small screens" tabindex="0"><table class="govuk-table">',
    ).replace("</table>", "</table></div>")
    return mark_safe(html)  # noqa: S308 - markdown-it escapes the text; html is off


def guide_parts() -> tuple[SafeString, SafeString]:
    """The guide's heading, and the rest: a page puts its own links between."""
    heading, rest = guide_html().split("</h1>", 1)
    return mark_safe(heading + "</h1>"), mark_safe(rest)  # noqa: S308 - parts of the above


def _anchor(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", re.sub(r"<[^>]+>", "", heading).lower()).strip("-")
