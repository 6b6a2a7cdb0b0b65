"""GOV.UK Notify's email endpoint, served on loopback for the tests: it
checks a request as Notify does (a JSON Web Token signed with the API key's
secret and issued by its service, a known template, an email address) and
answers in Notify's shape, recording what it was sent."""

from __future__ import annotations

import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt


class NotifyServer:
    def __init__(self, template_id: str) -> None:
        self.service_id = str(uuid.uuid4())
        self.secret = str(uuid.uuid4())
        self.template_id = template_id
        self.emails: list[dict] = []
        # Status codes to answer the next requests with, as Notify would when down.
        self.failures: list[int] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def api_key(self, *, secret: str | None = None) -> str:
        """An API key as Notify shows it: its name, the service id, the secret."""
        return f"caseload_test-{self.service_id}-{secret or self.secret}"

    def __enter__(self) -> NotifyServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        notify = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def error(self, status: int, kind: str, message: str) -> None:
                self.answer(
                    status,
                    {"errors": [{"error": kind, "message": message}], "status_code": status},
                )

            def do_POST(self) -> None:
                if self.path != "/v2/notifications/email":
                    return self.error(404, "NotFoundError", "Not found")
                if notify.failures:
                    return self.error(notify.failures.pop(0), "Exception", "Internal error")
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                try:
                    claims = jwt.decode(
                        token, notify.secret, algorithms=["HS256"], options={"require": ["iat"]}
                    )
                except jwt.PyJWTError as error:
                    return self.error(403, "AuthError", f"Invalid token: {error}")
                if claims.get("iss") != notify.service_id or abs(time.time() - claims["iat"]) > 30:
                    return self.error(403, "AuthError", "Invalid token: service or time")
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if body.get("template_id") != notify.template_id:
                    return self.error(400, "BadRequestError", "Template not found")
                if "@" not in body.get("email_address", ""):
                    return self.error(400, "ValidationError", "email_address Not a valid email")
                notify.emails.append(body)
                personalisation = body.get("personalisation") or {}
                self.answer(
                    201,
                    {
                        "id": str(uuid.uuid4()),
                        "reference": body.get("reference"),
                        "content": {
                            "subject": personalisation.get("subject"),
                            "body": personalisation.get("body"),
                            "from_email": "caseload@notifications.service.gov.uk",
                        },
                        "template": {"id": notify.template_id, "version": 1, "uri": ""},
                        "uri": "",
                    },
                )

        return Handler
