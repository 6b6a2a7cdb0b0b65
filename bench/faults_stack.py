"""The production-like stack that `make faults` starts on loopback: its own
redis-server, gunicorn, a Celery worker and Celery beat (their commands read
from docker-compose.yml), a mail sink, and the demo database they share.

Every process is started in a session of its own and stopped by its own
process group id; nothing here looks processes up by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hashlib
import os
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import yaml

ROOT = Path(__file__).resolve().parent.parent
HARNESS = "caseload-faults"  # the harness's own database connections carry this name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], bool], timeout: float, what: str, step=0.1) -> float:
    """Wait for `condition`; returns the seconds it took."""
    started = time.monotonic()
    while not condition():
        if time.monotonic() - started > timeout:
            raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)
    return time.monotonic() - started


def rss_mb(pid: int) -> float | None:
    """Resident memory of one process, in MB (None once it has gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children_of(pid: int) -> list[int]:
    """The processes whose parent is `pid` (gunicorn's workers, Celery's pool)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The name in brackets may hold spaces: the parent id follows its ')'.
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


# The database ----------------------------------------------------------------------------


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/caseload")
    parts = urlsplit(base)
    if not parts.scheme.startswith("postgres"):
        sys.exit("make faults runs on PostgreSQL: set DATABASE_URL to a postgres:// URL.")
    return urlunsplit(parts._replace(path=f"/{name}"))


def base_name() -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/caseload")
    return urlsplit(base).path.lstrip("/") or "caseload"


def _server():  # type: ignore[no-untyped-def]
    connection = psycopg2.connect(database_url("postgres"), application_name=HARNESS)
    connection.autocommit = True  # CREATE and DROP DATABASE refuse a transaction
    return connection


def fingerprint(extra: str) -> str:
    """What the demo database was built from: every migration, the demo, and
    the harness's own additions. A change to any of them builds it again."""
    digest = hashlib.sha256(extra.encode())
    for path in [*sorted(ROOT.glob("*/migrations/*.py")), *sorted(ROOT.glob("demo/**/*.py"))]:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return "caseload-faults " + digest.hexdigest()[:16]


def template_comment(name: str) -> str | None:
    with _server() as server, server.cursor() as cursor:
        cursor.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def drop_database(name: str) -> None:
    server = _server()
    try:
        with server.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        server.close()


def create_database(name: str, template: str | None = None, comment: str | None = None) -> None:
    server = _server()
    try:
        with server.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            copy = f' TEMPLATE "{template}"' if template else ""
            cursor.execute(f'CREATE DATABASE "{name}"{copy}')
            if comment is not None:
                cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [comment])
    finally:
        server.close()


def set_comment(name: str, comment: str) -> None:
    server = _server()
    try:
        with server.cursor() as cursor:
            cursor.execute(f'COMMENT ON DATABASE "{name}" IS %s', [comment])
    finally:
        server.close()


def terminate_connections(database: str) -> int:
    """End every connection of the stack to `database` (not the harness's own)."""
    server = _server()
    try:
        with server.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid() AND application_name <> %s "
                "AND backend_type = 'client backend'",
                [database, HARNESS],
            )
            return cursor.fetchone()[0]
    finally:
        server.close()


# The processes -----------------------------------------------------------------------------


@dataclass
class Child:
    """One process of the stack, in its own session (so its own process group)."""

    name: str
    args: list[str]
    env: dict[str, str]
    folder: Path
    process: subprocess.Popen | None = None
    log_file: object = None

    @property
    def log(self) -> Path:
        return self.folder / f"{self.name}.log"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def start(self) -> None:
        self.log_file = self.log.open("ab")
        self.process = subprocess.Popen(  # noqa: S603 - our own programs, fixed arguments
            self.args,
            env=self.env,
            cwd=self.folder,
            stdout=self.log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def running(self) -> bool:
        """Still running (asked without reaping it, so its group can still be
        signalled by its id)."""
        if self.process is None or self.process.returncode is not None:
            return False
        return not os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)

    def signal(self, number: int) -> None:
        """Signal the process's group, while its leader is not yet reaped."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, number)

    def kill(self) -> None:
        """SIGKILL the whole group at once: nothing it holds is acknowledged."""
        self.signal(signal.SIGKILL)
        if self.process is not None:
            self.process.wait(timeout=10)

    def exited(self, timeout: float) -> bool:
        """Wait for the process to exit without reaping it: while it is not
        reaped, its id (and so its group's) cannot be given to another."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if os.waitid(os.P_PID, self.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT):
                return True
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.returncode is None:
            self.signal(signal.SIGCONT)  # a stopped process cannot act on SIGTERM
            self.signal(signal.SIGTERM)
            self.exited(15)
            # Whatever of its group is left (a pool child, say), or all of it.
            self.signal(signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None
        if self.log_file is not None:
            self.log_file.close()
            self.log_file = None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return ""

    def memory(self) -> dict[int, float]:
        """Resident MB of this process and each of its children."""
        pids = [self.pid, *children_of(self.pid)] if self.running() else []
        return {pid: mb for pid in pids if (mb := rss_mb(pid)) is not None}


def compose_stack() -> tuple[dict[str, str], dict[str, list[str]]]:
    """The app's environment and the web, worker and beat commands, as
    docker-compose.yml gives them (so the harness runs what the stack runs)."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    environment = {k: str(v) for k, v in (services["web"].get("environment") or {}).items()}
    commands = {}
    for name in ("web", "worker", "beat"):
        command = services[name]["command"]
        commands[name] = shlex.split(command) if isinstance(command, str) else list(command)
    return environment, commands


def program(args: list[str]) -> list[str]:
    """`gunicorn …`, `celery …`, `python …` from this virtualenv."""
    first, rest = args[0], args[1:]
    if first in ("python", "python3"):
        return [sys.executable, *rest]
    return [sys.executable, "-m", first, *rest]


def rebind(args: list[str], address: str) -> list[str]:
    out, skip = [], False
    for arg in args:
        if skip:
            out.append(address)
            skip = False
        elif arg in ("--bind", "-b"):
            out.append(arg)
            skip = True
        elif arg.startswith("--bind="):
            out.append(f"--bind={address}")
        else:
            out.append(arg)
    if "--bind" not in out and "-b" not in out and not any(a.startswith("--bind=") for a in out):
        out += ["--bind", address]
    return out


# Redis --------------------------------------------------------------------------------------


class Redis(Child):
    """A redis-server of the harness's own, on a spare port, saving to its
    folder on shutdown as the redis:7 image does (so a restart keeps the queue)."""

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            sys.exit("make faults needs redis-server (apt install redis-server).")
        self.port = free_port()
        super().__init__(
            "redis",
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder),
             "--protected-mode", "yes"],
            {"PATH": os.environ.get("PATH", "")},
            folder,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.settimeout(0.5)
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        super().start()
        wait_until(self.answers, 10, f"redis-server on port {self.port}")


# The mail sink ------------------------------------------------------------------------------


def normal_text(text: str) -> str:
    return "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").strip().split("\n"))


@dataclass
class MailSink:
    """A few lines of SMTP on loopback: every message is kept, by recipient,
    subject and body, with the time it arrived."""

    port: int = 0
    received: list[tuple[tuple[str, str, str], float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        ready = threading.Event()

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            server = self.loop.run_until_complete(
                asyncio.start_server(self._session, "127.0.0.1", 0)
            )
            self.port = server.sockets[0].getsockname()[1]
            ready.set()
            self.loop.run_forever()
            server.close()

        threading.Thread(target=serve, name="mail-sink", daemon=True).start()
        ready.wait(10)

    def stop(self) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self.loop.stop)

    def counts(self) -> Counter:
        with self.lock:
            return Counter(key for key, _ in self.received)

    def __len__(self) -> int:
        with self.lock:
            return len(self.received)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async def say(line: str) -> None:
            writer.write(line.encode() + b"\r\n")
            await writer.drain()

        recipients: list[str] = []
        try:
            await say("220 caseload-faults mail sink")
            while line := await reader.readline():
                verb = line[:4].decode(errors="replace").upper()
                if verb == "EHLO":
                    await say("250-caseload-faults")
                    await say("250 8BITMIME")
                elif verb in ("HELO", "NOOP"):
                    await say("250 OK")
                elif verb == "MAIL":
                    recipients = []
                    await say("250 OK")
                elif verb == "RCPT":
                    address = line.decode(errors="replace").split(":", 1)[1].strip()
                    recipients.append(address.split(">")[0].lstrip("<").strip())
                    await say("250 OK")
                elif verb == "RSET":
                    recipients = []
                    await say("250 OK")
                elif verb == "DATA":
                    await say("354 End data with <CR><LF>.<CR><LF>")
                    lines = []
                    while (part := await reader.readline()) not in (b".\r\n", b".\n", b""):
                        lines.append(part[1:] if part.startswith(b"..") else part)
                    self._keep(b"".join(lines), recipients)
                    await say("250 OK: kept")
                elif verb == "QUIT":
                    await say("221 Bye")
                    break
                else:
                    await say("502 Not implemented")
        finally:
            writer.close()

    def _keep(self, raw: bytes, recipients: list[str]) -> None:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = normal_text(body.get_content() if body is not None else "")
        subject = str(message.get("Subject", ""))
        now = time.monotonic()
        with self.lock:
            for address in recipients:
                self.received.append(((address.lower(), subject, text), now))


# The stack ----------------------------------------------------------------------------------


@dataclass
class Stack:
    """Everything `make faults` runs, and how to stop it."""

    folder: Path
    database: str
    secret_key: str
    redis: Redis = field(init=False)
    sink: MailSink = field(default_factory=MailSink)
    web_port: int = field(default_factory=free_port)
    web: Child | None = None
    worker: Child | None = None
    beat: Child | None = None
    env: dict[str, str] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.redis = Redis(self.folder)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.web_port}"

    def environment(self) -> dict[str, str]:
        """What the stack's processes get: the compose stack's app settings,
        with this machine's loopback addresses, production defaults otherwise."""
        compose_env, self.commands = compose_stack()
        env = {
            "PATH": os.environ.get("PATH", ""),
            # gunicorn keeps a control socket under HOME: one of the run's own.
            "HOME": str(self.folder),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            **compose_env,
            "DEBUG": "false",
            "SECRET_KEY": self.secret_key,
            "DATABASE_URL": database_url(self.database),
            "REDIS_URL": self.redis.url,
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(self.sink.port),
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://{self.address}",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
        }
        for name in ("TZ", "PGPASSWORD"):
            if name in os.environ:
                env[name] = os.environ[name]
        return env

    def prepare(self) -> None:
        self.sink.start()
        self.env = self.environment()

    def manage(self, *args: str, timeout: float = 900, env: dict | None = None) -> None:
        subprocess.run(  # noqa: S603 - our own program, fixed arguments
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=env or self.env,
            cwd=self.folder,
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
        )

    def collect_static(self) -> bool:
        """collectstatic, unless its manifest is newer than every static file
        and pin (production settings serve the hashed names it lists)."""
        manifest = ROOT / "staticfiles" / "staticfiles.json"
        sources = [*ROOT.glob("*/static/**/*"), *ROOT.glob("static/**/*"),
                   *ROOT.glob("requirements/*.txt")]  # fmt: skip
        newest = max((p.stat().st_mtime for p in sources if p.is_file()), default=0)
        if manifest.exists() and manifest.stat().st_mtime > newest:
            return False
        self.manage("collectstatic", "--no-input", timeout=300)
        return True

    def start(self) -> None:
        self.redis.start()
        self.web = Child("web", rebind(program(self.commands["web"]), self.address), self.env,
                         self.folder)  # fmt: skip
        self.web.start()
        self.start_worker()
        self.beat = Child("beat", program(self.commands["beat"]), self.env, self.folder)
        self.beat.start()
        wait_until(self.web_answers, 60, "gunicorn to answer /health/", step=0.25)

    def start_worker(self) -> None:
        self.worker = Child("worker", program(self.commands["worker"]), self.env, self.folder)
        self._ready_mark = self.worker.log.stat().st_size if self.worker.log.exists() else 0
        self.worker.start()

    def wait_worker_ready(self, timeout: float = 60) -> float:
        worker = self.worker
        if worker is None:
            raise RuntimeError("no Celery worker was started")

        def ready() -> bool:
            if not worker.running():
                raise RuntimeError("the Celery worker exited:\n" + worker.log_tail())
            with worker.log.open("rb") as log:
                log.seek(self._ready_mark)
                return b" ready." in log.read()

        return wait_until(ready, timeout, "the Celery worker to be ready", step=0.1)

    def web_answers(self) -> bool:
        if self.web is None or not self.web.running():
            raise RuntimeError("gunicorn exited:\n" + (self.web.log_tail() if self.web else ""))
        try:
            with urllib.request.urlopen(f"http://{self.address}/health/", timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def stop(self) -> None:
        for child in (self.beat, self.worker, self.web, self.redis):
            if child is not None:
                with contextlib.suppress(Exception):
                    child.stop()
        self.sink.stop()
