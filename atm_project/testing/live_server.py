"""Real gunicorn servers for black-box tests: the production config, a free port, own database.

    from atm_project.testing.live_server import run_gunicorn, sqlite_database_url

    with run_gunicorn(database_url=sqlite_database_url(tmp_path), workers=4) as server:
        response = server.request("GET", "/healthz")
        assert response.status == 200
    assert "database is locked" not in server.log_text()

Or, in a test, the `gunicorn_server` fixture of conftest.py, which stops every server it started
(and `demo_server` of security/tests/conftest.py: one on a copy of the demo data). The helpers at
the end register, sign in and open accounts over HTTP. Only loopback is ever bound or called.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connection

from atm_project.demo import DEMO_PASSWORD, DEMO_USERNAME

HOST = "127.0.0.1"
BASE_DIR = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
# gunicorn access-log lines naming the worker: pid, method, path, status. GUNICORN_CMD_ARGS
# adds to the production config without replacing it.
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"
WORKER_ACCESS_LOG = {"GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'"}
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
_template_lock = threading.Lock()
_template_path: Path | None = None


def free_port() -> int:
    """A TCP port nothing listens on right now (the OS picks it; we release it at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def _server_env(database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url}
    # pytest-django exports the test settings; a real server runs the production ones.
    env["DJANGO_SETTINGS_MODULE"] = "atm_project.settings"
    env.pop("REDIS_URL", None)  # each server has its own database cache unless told otherwise
    env.update(extra or {})
    return env


def migrate_database(database_url: str) -> None:
    """Create the schema and the cache table, in a child process with the server's settings."""
    setup = (
        "import django; django.setup(); from django.core.management import call_command; "
        "call_command('migrate', interactive=False, verbosity=0); "
        "call_command('createcachetable', verbosity=0)"
    )
    subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "-c", setup],
        cwd=BASE_DIR,
        env=_server_env(database_url),
        check=True,
        capture_output=True,
        timeout=180,
    )


def run_manage(
    database_url: str, *args: str, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess:
    """`manage.py ARGS` in a child process against that database, with the production settings
    and `env` added to the environment; the exit status, stdout and stderr are in the result
    (text)."""
    return subprocess.run(  # noqa: S603 - fixed argv, no shell
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=_server_env(database_url, env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def server_database_url() -> str:
    """The PostgreSQL test database itself as a DATABASE_URL, for servers (and connections of
    a test's own) that must see what the test commits."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    host, port = db["HOST"] or "127.0.0.1", db["PORT"] or 5432
    return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"


def sqlite_database_url(directory: Path, name: str = "server.sqlite3") -> str:
    """A migrated SQLite file of its own in `directory`, as a DATABASE_URL.

    The schema is migrated once per test session into a template that is then copied, because
    migrating costs seconds and every server needs a fresh database.
    """
    global _template_path
    with _template_lock:
        if _template_path is None:
            template = Path(tempfile.mkdtemp(prefix="atm-template-")) / "template.sqlite3"
            migrate_database(f"sqlite:///{template}")
            _template_path = template
    target = Path(directory) / name
    shutil.copyfile(_template_path, target)
    return f"sqlite:///{target}"


def seeded_database_url(directory: Path, name: str = "demo.sqlite3") -> str:
    """Like sqlite_database_url, with the demo data loaded."""
    url = sqlite_database_url(directory, name)
    seeded = run_manage(url, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr
    return url


@dataclass(frozen=True)
class HTTPResult:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def request(
        self,
        method: str,
        path: str,
        body=None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> HTTPResult:
        """One HTTP request on a new connection; 4xx/5xx are returned, not raised.

        `body` is sent as JSON unless it is already bytes or str.
        """
        headers = dict(headers or {})
        data = body
        if body is not None and not isinstance(body, (bytes, str)):
            data = json.dumps(body)
            headers.setdefault("Content-Type", "application/json")
        if isinstance(data, str):
            data = data.encode()
        if token:
            headers["Authorization"] = f"Bearer {token}"
        # Always our own http://127.0.0.1 server, never a user-given scheme.
        request = urllib.request.Request(  # noqa: S310
            self.url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return HTTPResult(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:
            return HTTPResult(error.code, dict(error.headers), error.read())

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # gunicorn's master stops its workers gracefully
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def _wait_until_serving(server: LiveServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            status = server.process.returncode
            raise RuntimeError(f"gunicorn exited with {status}:\n{server.log_text()}")
        try:
            server.request("GET", "/healthz", timeout=5)  # any answer, even a 503, means serving
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer within {timeout}s:\n{server.log_text()}")


@contextmanager
def run_gunicorn(
    *,
    database_url: str,
    workers: int = 4,
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
    ready_timeout: float = 60,
) -> Iterator[LiveServer]:
    """Serve the project with gunicorn and atm_project/gunicorn_conf.py on a free loopback port.

    `env` adds or overrides environment variables (e.g. {"RATELIMIT_ENABLE": "0"}). The server's
    access and error log (with Django's log lines) is kept in `log_dir` (a temporary directory by
    default) and stays readable through `server.log_text()` after the server has stopped.
    """
    port = free_port()
    server_env = _server_env(
        database_url,
        {"HOST": HOST, "PORT": str(port), "WEB_CONCURRENCY": str(workers), **(env or {})},
    )
    log_dir = Path(log_dir or tempfile.mkdtemp(prefix="atm-gunicorn-"))
    log_path = log_dir / f"gunicorn-{port}.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [
                str(VENV_BIN / "gunicorn"),
                "--config",
                "atm_project/gunicorn_conf.py",
                # Every gunicorn defaults to one control socket in ~/.gunicorn; servers of
                # parallel tests would take it from each other.
                "--no-control-socket",
                "atm_project.wsgi",
            ],
            cwd=BASE_DIR,
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LiveServer(
        url=f"http://{HOST}:{port}", process=process, log_path=log_path, env=server_env
    )
    try:
        _wait_until_serving(server, ready_timeout)
        yield server
    finally:
        server.stop()


# --- a customer over HTTP -----------------------------------------------------------------------


def register(server: LiveServer, username: str, password: str) -> None:
    created = server.request(
        "POST", "/api/v1/auth/register/", {"username": username, "password": password}
    )
    assert created.status == 201, created.body


def sign_in(
    server: LiveServer, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD
) -> str:
    """An access token of the customer (the demo customer by default)."""
    tokens = server.request(
        "POST", "/api/v1/auth/token/", {"username": username, "password": password}
    )
    assert tokens.status == 200, tokens.body
    return tokens.json()["access"]


def open_funded_account(server: LiveServer, token: str, *, deposit: str) -> str:
    """Open an account of the token's customer, deposit into it; its number."""
    opened = server.request("POST", "/api/v1/accounts/", {}, token=token)
    assert opened.status == 201, opened.body
    number = opened.json()["number"]
    funded = server.request(
        "POST", f"/api/v1/accounts/{number}/deposit/", {"amount": deposit}, token=token
    )
    assert funded.status == 201, funded.body
    return number


def worker_pids_that_served(server: LiveServer, path: str) -> set[str]:
    """Needs the server started with WORKER_ACCESS_LOG in its environment."""
    pids = set()
    for line in server.log_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] in HTTP_METHODS and parts[2] == path:
            pids.add(parts[0])
    return pids
