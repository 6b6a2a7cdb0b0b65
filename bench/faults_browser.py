"""A small browser for `make faults`: cookies, forms as the pages give them,
and answers that say how long they took (status 0: no answer at all)."""

from __future__ import annotations

import http.client
import secrets
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit


@dataclass
class Answer:
    status: int  # 0: no answer (refused, reset or timed out)
    location: str
    body: str
    seconds: float
    error: str = ""

    @property
    def failed(self) -> bool:
        """A server error, or no answer at all."""
        return self.status == 0 or self.status >= 500

    def redirects_to(self, start: str, end: str = "") -> bool:
        path = urlsplit(self.location).path
        return self.status == 302 and path.startswith(start) and path.endswith(end)


@dataclass
class Form:
    action: str
    values: dict[str, str] = field(default_factory=dict)
    choices: dict[str, list[str]] = field(default_factory=dict)  # radios and selects
    files: list[str] = field(default_factory=list)

    def fill(self, **values: str) -> Form:
        self.values.update(values)
        return self

    def pick_first_choices(self) -> Form:
        """Every radio group or select left unanswered gets its first choice."""
        for name, options in self.choices.items():
            if not self.values.get(name) and options:
                self.values[name] = next((o for o in options if o), options[0])
        return self


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("method", "get").lower() == "post":
            self.current = Form(action=a.get("action", ""))
            self.forms.append(self.current)
        if self.current is None:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text").lower()
            if kind == "radio":
                self.current.choices.setdefault(name, []).append(a.get("value", "on"))
                if "checked" in a:
                    self.current.values[name] = a.get("value", "on")
            elif kind == "checkbox":
                if "checked" in a:
                    self.current.values[name] = a.get("value", "on")
            elif kind == "file":
                self.current.files.append(name)
            elif kind not in ("submit", "button", "image", "reset"):
                self.current.values[name] = a.get("value", "")
        elif tag == "select" and name:
            self.select = name
            self.current.choices[name] = []
        elif tag == "option" and self.select:
            self.current.choices[self.select].append(a.get("value", ""))
            if "selected" in a:
                self.current.values[self.select] = a.get("value", "")
        elif tag == "textarea" and name:
            self.textarea = name
            self.current.values[name] = ""

    def handle_data(self, data: str) -> None:
        if self.current is not None and self.textarea:
            self.current.values[self.textarea] += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None


def forms_of(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


class PageError(RuntimeError):
    """A page that did not give the form asked for."""

    def __init__(self, message: str, answer: Answer) -> None:
        super().__init__(message)
        self.answer = answer


class Browser:
    """One person's browser: its own cookies (so its own session and CSRF
    token), and every answer it had, in order."""

    def __init__(self, address: str, timeout: float = 30) -> None:
        self.host, port = address.split(":")
        self.port = int(port)
        self.timeout = timeout
        self.cookies: dict[str, str] = {}
        self.log: list[Answer] = []

    def request(
        self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
        timeout: float | None = None,
    ) -> Answer:  # fmt: skip
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = f"http://{self.host}:{self.port}"
        headers["Connection"] = "close"
        started = time.monotonic()
        connection = http.client.HTTPConnection(
            self.host, self.port, timeout=timeout or self.timeout
        )
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            content = response.read().decode("utf-8", errors="replace")
            for header in response.headers.get_all("Set-Cookie") or []:
                self._take_cookie(header)
            answer = Answer(
                response.status,
                response.headers.get("Location", ""),
                content,
                time.monotonic() - started,
            )
        except (OSError, http.client.HTTPException) as error:
            seconds = time.monotonic() - started
            answer = Answer(0, "", "", seconds, f"{type(error).__name__}: {error}")
        finally:
            connection.close()
        self.log.append(answer)
        return answer

    def _take_cookie(self, header: str) -> None:
        jar = SimpleCookie()
        jar.load(header)
        for name, morsel in jar.items():
            if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = morsel.value

    def get(self, path: str, timeout: float | None = None) -> Answer:
        return self.request("GET", path, timeout=timeout)

    def post(self, path: str, values: dict[str, str], timeout: float | None = None) -> Answer:
        return self.request(
            "POST",
            path,
            urlencode(values).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
            timeout,
        )

    def upload(
        self, path: str, values: dict[str, str], field: str, name: str, content: bytes,
        timeout: float | None = None,
    ) -> Answer:  # fmt: skip
        boundary = "----caseload-faults-" + secrets.token_hex(8)
        parts = []
        for key, value in values.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; '
            f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
        parts.append(f"--{boundary}--\r\n".encode())
        return self.request(
            "POST",
            path,
            b"".join(parts),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"},
            timeout,
        )

    def form(self, path: str, containing: str, timeout: float | None = None) -> Form:
        """The page's form that holds a field named `containing` (or posts to
        an action holding it), ready to fill."""
        answer = self.get(path, timeout)
        if answer.status != 200:
            raise PageError(f"GET {path}: {answer.status} {answer.error}".strip(), answer)
        for form in forms_of(answer.body):
            if containing in (*form.values, *form.choices, *form.files) or (
                containing in form.action
            ):
                form.action = form.action or path
                return form
        raise PageError(f"GET {path}: no form with {containing!r}", answer)

    def submit(self, form: Form, timeout: float | None = None) -> Answer:
        return self.post(form.action, form.values, timeout)

    def sign_in(self, username: str, password: str) -> None:
        form = self.form("/sign-in/", "username")
        answer = self.submit(form.fill(username=username, password=password))
        if answer.status == 302 and not answer.location.startswith("/sign-in"):
            return
        if answer.failed or answer.status == 400:
            # The server failed (a 400: its session could not be saved), not the password.
            raise PageError(f"signing in as {username}: {answer.status} {answer.error}", answer)
        raise RuntimeError(
            f"signing in as {username} failed ({answer.status} {answer.error}): "
            "is the demo loaded, and is the user locked out?"
        )
