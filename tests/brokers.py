"""Real brokers and workers for the Celery tests.

Fault tests start a redis-server of their own on a free port and stop or
kill only that one (and workers started here), never the machine's shared
Redis. A worker in a separate process reads the test database, so the tests
that use one need PostgreSQL and a transactional database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import redis
from django.db import connection

from config.celery import app as celery_app
from tests.conftest import skip_or_fail


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class OwnRedis:
    """A redis-server on a free port, which a test may stop and start again."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server")
        if program is None:
            skip_or_fail("needs the redis-server program (apt install redis-server)")
        self.program = program
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.program,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_for(answers, 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.resume()  # a stopped process ignores SIGTERM until it runs again
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_connect_timeout=1, socket_timeout=1)

    def pause(self) -> None:
        """Hang the server (SIGSTOP): connections open, nothing answered."""
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)


@contextlib.contextmanager
def own_redis(folder: Path) -> Iterator[OwnRedis]:
    server = OwnRedis(folder)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def forget_broker_connections() -> None:
    """Let the app connect afresh to whichever broker it is configured with
    (the connection pools are kept per broker address)."""
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    # And the result store it made at the old address (kept per thread), or a
    # later test's `.get()` would wait on a Redis that has gone.
    vars(celery_app._local).pop("backend", None)
    celery_app._backend_cache = None


@contextlib.contextmanager
def publishing_to(url: str, **conf) -> Iterator[None]:
    """Send this process's tasks to the broker at `url`, not in-process."""
    keys = ("task_always_eager", "broker_url", "result_backend", *conf)
    saved = {key: celery_app.conf[key] for key in keys}
    celery_app.conf.update(task_always_eager=False, broker_url=url, result_backend=url, **conf)
    forget_broker_connections()
    try:
        yield
    finally:
        celery_app.conf.update(**saved)
        forget_broker_connections()


def result_of(task, *args: object, timeout: float = 30) -> object:  # type: ignore[no-untyped-def]
    """Send `task` to a worker and wait for what it returns: tasks keep no
    result unless the sender asks for one."""
    return task.apply_async(args, ignore_result=False).get(timeout=timeout)


def database_url_of_the_tests() -> str:
    settings = connection.settings_dict
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    host = settings.get("HOST") or "127.0.0.1"
    port = settings.get("PORT") or 5432
    return f"postgres://{settings['USER']}{password}@{host}:{port}/{settings['NAME']}"


class WorkerProcess:
    """`celery worker` in its own process group, on the test database."""

    def __init__(self, broker_url: str, log: Path) -> None:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.settings_fault_worker",
            "DATABASE_URL": database_url_of_the_tests(),
            "REDIS_URL": broker_url,
        }
        # The broker's URL as given: not one of the test run's per-process databases.
        env.pop("PYTEST_XDIST_WORKER", None)
        self.log = log.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "--app",
                "config",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--hostname",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once: nothing is acknowledged."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
        self.log.close()


@contextlib.contextmanager
def worker_process(broker_url: str, log: Path) -> Iterator[WorkerProcess]:
    """A worker that hands back a dead worker's task within seconds."""
    worker = WorkerProcess(broker_url, log)
    try:
        yield worker
    finally:
        worker.stop()
