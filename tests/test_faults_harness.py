"""The parts of `make faults` (bench/faults.py) that its figures rest on: the
mail sink counts what the application sends, and the stack runs the compose
stack's own commands, on loopback."""

from django.core.mail import get_connection, send_mail

from bench.faults_browser import forms_of
from bench.faults_stack import MailSink, compose_stack, normal_text, program, rebind


def test_the_mail_sink_keeps_what_django_sends_over_smtp():
    sink = MailSink()
    sink.start()
    try:
        connection = get_connection(
            "django.core.mail.backends.smtp.EmailBackend", host="127.0.0.1", port=sink.port
        )
        body = "Case CP-1 was allocated to you.\n\nSee it in Caseload: http://x/cases/1/\n"
        for _ in range(2):
            send_mail("Case CP-1 has been allocated to you", body, "caseload@localhost",
                      ["Asha@Example.org"], connection=connection)  # fmt: skip
        counts = sink.counts()
    finally:
        sink.stop()
    key = ("asha@example.org", "Case CP-1 has been allocated to you", normal_text(body))
    assert counts == {key: 2}


def test_the_stack_runs_the_compose_commands_on_loopback():
    environment, commands = compose_stack()
    web = rebind(program(commands["web"]), "127.0.0.1:5555")
    assert web[1:3] == ["-m", "gunicorn"]
    assert "0.0.0.0:8000" not in web
    assert web[web.index("--bind") + 1] == "127.0.0.1:5555"
    assert program(commands["worker"])[1:4] == ["-m", "celery", "--app"]
    assert "SECURE_SSL_REDIRECT" in environment


def test_forms_are_read_as_a_browser_posts_them():
    page = """
      <form method="post" action="/sign-out/"><input type="hidden" name="csrfmiddlewaretoken"
        value="a"></form>
      <form method="post" novalidate>
        <input type="hidden" name="csrfmiddlewaretoken" value="b">
        <input type="radio" name="worker" value="7"><input type="radio" name="worker" value="9">
        <select name="student"><option value="">No student</option><option value="3">S</option>
        </select>
        <textarea name="reason">Why &amp; how</textarea>
        <input type="file" name="file"><button type="submit">Allocate</button>
      </form>"""
    first, second = forms_of(page)
    assert first.action == "/sign-out/"
    assert second.values == {"csrfmiddlewaretoken": "b", "reason": "Why & how"}
    assert second.choices == {"worker": ["7", "9"], "student": ["", "3"]}
    assert second.files == ["file"]
