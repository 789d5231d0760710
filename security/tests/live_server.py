"""What the security tests add to atm_project/testing/live_server.py: the demo customer, and
which gunicorn worker served each request.

Servers are started by the shared `gunicorn_server` fixture (conftest.py), with the production
settings and gunicorn config, each on a fresh migrated SQLite file seeded with the demo data of
docs/api.md "Commands" (user demo with two funded accounts and a card).
"""

import json

from atm_project.testing.live_server import LiveServer, run_manage, sqlite_database_url

DEMO_USERNAME, DEMO_PASSWORD = "demo", "demo-pass-2468"
DEMO_CHECKING, DEMO_CARD, DEMO_PIN = "1000000008", "4000001234567899", "2468"
# gunicorn access-log lines naming the worker: pid, method, path, status. GUNICORN_CMD_ARGS
# adds to the production config without replacing it.
ACCESS_LOG_FORMAT = "%(p)s %(m)s %(U)s %(s)s"
WORKER_ACCESS_LOG = {"GUNICORN_CMD_ARGS": f"--access-logformat '{ACCESS_LOG_FORMAT}'"}
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}


def seeded_database_url(directory, name: str) -> str:
    url = sqlite_database_url(directory, name)
    seeded = run_manage(url, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr
    return url


def request(server: LiveServer, method: str, path: str, body=None, token: str | None = None):
    """(status, headers, JSON body or None): what the tests compare."""
    result = server.request(method, path, body, token=token, headers={"Connection": "close"})
    return result.status, result.headers, json.loads(result.body) if result.body else None


def sign_in(server: LiveServer) -> str:
    body = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    status, _, tokens = request(server, "POST", "/api/v1/auth/token/", body)
    assert status == 200, tokens
    return tokens["access"]


def worker_pids_that_served(server: LiveServer, path: str) -> set[str]:
    """Needs the server started with WORKER_ACCESS_LOG in its environment."""
    pids = set()
    for line in server.log_text().splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[1] in HTTP_METHODS and parts[2] == path:
            pids.add(parts[0])
    return pids
