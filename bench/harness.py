"""What the benchmark and the fault harness share: databases, a live gunicorn, a small API client.

Everything here drives the application from the outside (processes, HTTP, SQL), exactly as an
operator would; nothing imports the Django project.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
API = "/api/v1"


class BenchError(RuntimeError):
    """A precondition of the harness failed; the message says what to do."""


# --- databases -------------------------------------------------------------------------------


def postgres_url_from_env() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in {"postgres", "postgresql", "pgsql"}:
        raise BenchError(
            "DATABASE_URL must point at PostgreSQL (the production database), e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/atm make bench (or make faults). "
            f"Got: {url or 'unset (SQLite)'}"
        )
    return url


def with_database(url: str, name: str) -> str:
    """The same server and credentials as `url`, another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


def libpq_url(url: str) -> str:
    """dj-database-url accepts postgres:// and pgsql://; libpq wants postgresql://."""
    parts = urlsplit(url)
    return urlunsplit(("postgresql", parts.netloc, parts.path, parts.query, ""))


def recreate_database(server_url: str, name: str) -> str:
    """Drop and create `name` on the server of `server_url`; return its URL."""
    if not name.startswith("atm_bench"):
        raise BenchError(f"refusing to drop {name!r}: bench databases are named atm_bench*")
    admin = libpq_url(with_database(server_url, "postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_database(server_url, name)


def manage(database_url: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(VENV_BIN / "python"), "manage.py", *args],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        check=check,
    )


def migrate(database_url: str) -> None:
    for command in (["migrate", "--noinput"], ["createcachetable"]):
        done = manage(database_url, *command, check=False)
        if done.returncode != 0:
            raise BenchError(f"manage.py {' '.join(command)} failed:\n{done.stderr[-2000:]}")


# --- a live gunicorn -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """A gunicorn master with the production configuration, atm_project/gunicorn_conf.py."""

    database_url: str
    port: int = field(default_factory=free_port)
    env: dict = field(default_factory=dict)
    log_path: Path = RESULTS / "server.log"
    process: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, wait: float = 120.0) -> "Server":
        env = {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "PORT": str(self.port),
            "HOST": "127.0.0.1",
            **self.env,
        }
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                str(VENV_BIN / "gunicorn"),
                "--config",
                "atm_project/gunicorn_conf.py",
                "atm_project.wsgi",
            ],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        try:
            self.wait_healthy(wait)
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise
        return self

    def wait_healthy(self, timeout: float) -> float:
        """Seconds until /healthz answers 200; BenchError after `timeout`."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            if self.process is not None and self.process.poll() is not None:
                raise BenchError(
                    f"gunicorn exited with {self.process.returncode}; see {self.log_path}"
                )
            if healthy(self.port):
                return time.monotonic() - started
            time.sleep(0.05)
        raise BenchError(f"server on port {self.port} not healthy after {timeout}s")

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=25)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def healthy(port: int) -> bool:
    try:
        status, _ = Client(port, timeout=2).request("GET", "/healthz")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200


# --- a small JSON client ---------------------------------------------------------------------


class Client:
    """A keep-alive JSON client over http.client; one per thread."""

    def __init__(self, port: int, token: str | None = None, timeout: float = 30):
        self.port = port
        self.token = token
        self.timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body)
            all_headers["Content-Type"] = "application/json"
        if self._conn is None:
            self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            self._conn.request(method, path, body=payload, headers=all_headers)
            response = self._conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.close()  # the next request opens a fresh connection
            raise
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        data = (
            json.loads(raw)
            if raw and b"json" in (response.getheader("Content-Type") or "").encode()
            else {}
        )
        return response.status, data

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def expect(self, status: int, method: str, path: str, body=None, headers=None) -> dict:
        got, data = self.request(method, path, body, headers)
        if got != status:
            raise BenchError(f"{method} {path}: expected {status}, got {got}: {data}")
        return data


@dataclass(frozen=True)
class Customer:
    """A registered customer. Access tokens live 5 minutes, less than a whole bench: whoever
    needs one signs in again (`token`)."""

    user_id: int
    username: str
    password: str

    def token(self, port: int) -> str:
        return sign_in(port, self.username, self.password)


def register(port: int, username: str, password: str) -> Customer:
    client = Client(port)
    try:
        body = {"username": username, "password": password}
        user = client.expect(201, "POST", f"{API}/auth/register/", body)
    finally:
        client.close()
    return Customer(user["id"], username, password)


def sign_in(port: int, username: str, password: str) -> str:
    """A fresh access token."""
    client = Client(port)
    try:
        body = {"username": username, "password": password}
        return client.expect(200, "POST", f"{API}/auth/token/", body)["access"]
    finally:
        client.close()


def sign_up(port: int, username: str, password: str) -> tuple[int, str]:
    """Register a customer and sign in; return (user id, access token)."""
    customer = register(port, username, password)
    return customer.user_id, customer.token(port)


def open_funded_account(client: Client, amount: str | None) -> str:
    number = client.expect(201, "POST", f"{API}/accounts/", {})["number"]
    if amount is not None:
        client.expect(201, "POST", f"{API}/accounts/{number}/deposit/", {"amount": amount})
    return number


def reconcile(database_url: str) -> tuple[bool, str]:
    return _clean(manage(database_url, "reconcile", check=False))


def verify_audit_chain(database_url: str) -> tuple[bool, str]:
    return _clean(manage(database_url, "verify_audit_chain", check=False))


def _clean(done: subprocess.CompletedProcess) -> tuple[bool, str]:
    """A checking command's verdict (exit status 0) and its report."""
    return done.returncode == 0, (done.stdout + done.stderr).strip()
