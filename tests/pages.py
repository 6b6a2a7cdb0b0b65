"""Reading what a page's forms would send, as a browser does."""

from __future__ import annotations

from html.parser import HTMLParser


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._open = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "form" and (attributes.get("method") or "").lower() == "post":
            self.forms.append((attributes.get("action") or "", {}))
            self._open = True
        elif tag == "input" and self._open and attributes.get("type") == "hidden":
            self.forms[-1][1][attributes.get("name") or ""] = attributes.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._open = False


def hidden_fields(response, action: str = "") -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The hidden fields of the page's form that posts to `action` (""
    for a form that posts back to the page), but the CSRF token."""
    parser = _Forms()
    parser.feed(response.content.decode())
    for form_action, fields in parser.forms:
        if form_action == action:
            fields.pop("csrfmiddlewaretoken", None)
            return fields
    raise AssertionError(f"no form posting to {action!r} on the page")
