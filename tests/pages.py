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


ROWS = ("thead", "tbody", "tfoot")


class _Tables(HTMLParser):
    """Each table's caption and rows (headings, body and footer), as the text
    of each cell with its white space collapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._text: list[str] | None = None
        self._in: str = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append(("", []))
        elif tag in ("caption", "thead", "tbody", "tfoot"):
            self._in = tag
            if tag == "caption":
                self._text = []
        elif tag == "tr" and self._in in ROWS:
            self.tables[-1][1].append([])
        elif tag in ("td", "th") and self._in in ROWS:
            self._text = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "caption" and self._text is not None:
            self.tables[-1] = (" ".join("".join(self._text).split()), self.tables[-1][1])
            self._text, self._in = None, ""
        elif tag in ("td", "th") and self._text is not None and self._in in ROWS:
            self.tables[-1][1][-1].append(" ".join("".join(self._text).split()))
            self._text = None

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)


def table_rows(response, caption: str, which: int = 0) -> list[list[str]]:  # type: ignore[no-untyped-def]
    """The rows of the page's table whose caption starts with `caption` (the
    first such table, or the one `which` counts to): its headings first."""
    parser = _Tables()
    parser.feed(response.content.decode())
    found = [rows for text, rows in parser.tables if text.startswith(caption)]
    if len(found) <= which:
        raise AssertionError(f"no table {which} captioned {caption!r} on the page")
    return found[which]
