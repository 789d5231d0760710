"""A real multi-worker gunicorn on a free loopback port, with its own temporary SQLite database.

The production settings and atm_project/gunicorn_conf.py, as `make run` serves them: what a
rate limit or a fuzzer meets in production is what the tests meet. The database is migrated (the
cache table included, by the security app's migration) and seeded with the demo data of API.md.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-pass-2468"
DEMO_CHECKING, DEMO_CARD, DEMO_PIN = "1000000008", "4000001234567899", "2468"
# Loopback only: never through a proxy named in the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))
# gunicorn's access-log atoms: worker pid, method, path, status.
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    base_url: str
    access_log: Path
    process: subprocess.Popen

    def request(self, method: str, path: str, body=None, token: str | None = None):
        """One request on a fresh connection: (status, headers, parsed JSON body or None)."""
        headers = {"Accept": "application/json", "Connection": "close"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = f"Bearer {token}"
        request = urllib.request.Request(  # noqa: S310 - base_url is our own loopback server
            self.base_url + path, data=data, headers=headers, method=method
        )
        try:
            with _NO_PROXY.open(request, timeout=30) as response:
                return response.status, response.headers, _json(response.read())
        except urllib.error.HTTPError as error:
            return error.code, error.headers, _json(error.read())

    def sign_in(self, username: str = DEMO_USERNAME, password: str = DEMO_PASSWORD) -> str:
        status, _, body = self.request(
            "POST", "/api/v1/auth/token/", {"username": username, "password": password}
        )
        assert status == 200, body
        return body["access"]

    def worker_pids_that_served(self, path: str) -> set[str]:
        pids = set()
        for line in self.access_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[2] == path:
                pids.add(parts[0])
        return pids


def _json(raw: bytes):
    return json.loads(raw) if raw else None


def _manage(env: dict, *args: str) -> None:
    done = subprocess.run(
        [str(BIN / "python"), "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}"


def _wait_until_healthy(server: LiveServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {server.process.returncode}")
        try:
            if server.request("GET", "/healthz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"gunicorn not healthy after {timeout}s")


def _server_env(database: Path, **extra: str) -> dict:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "atm_project.settings",
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_DEBUG": "0",
        **extra,
    }
    # The counters must live in this server's own database cache, not a Redis shared with others.
    env.pop("REDIS_URL", None)
    return env


def build_seeded_database(path: Path) -> Path:
    """A migrated SQLite file with the demo data; servers start from copies of it (a migration
    costs seconds, a copy nothing)."""
    env = _server_env(path)
    _manage(env, "migrate", "--noinput")
    _manage(env, "seed_demo")
    return path


@contextmanager
def live_server(
    seeded_database: Path, tmp_path: Path, *, workers: int = 3, env: dict | None = None
) -> Iterator[LiveServer]:
    """Serve a copy of `seeded_database` (see build_seeded_database); stop it afterwards."""
    database = tmp_path / "live.sqlite3"
    # The migrating process closed the file cleanly, so everything is in the main file (no WAL).
    shutil.copyfile(seeded_database, database)
    port = free_port()
    server_env = {
        **_server_env(database),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_ACCESSLOG": str(tmp_path / "access.log"),
        **(env or {}),
    }
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--config",
            "atm_project/gunicorn_conf.py",
            "--access-logformat",
            ACCESS_LOG_FORMAT,
            # The default control socket is one path per machine: parallel servers would collide.
            "--no-control-socket",
            "atm_project.wsgi",
        ],
        cwd=REPO,
        env=server_env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "server.log").open("wb"),
    )
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        access_log=tmp_path / "access.log",
        process=process,
    )
    try:
        _wait_until_healthy(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
