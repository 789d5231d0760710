import uuid

import pytest

from atm_project.testing.live_server import WORKER_ACCESS_LOG, seeded_database_url


@pytest.fixture
def demo_server(gunicorn_server, tmp_path):
    """Start a real gunicorn on a fresh copy of the demo data: `demo_server(workers=3, env={})`.
    Its access log names the worker of each request (see worker_pids_that_served in
    atm_project/testing/live_server.py)."""

    def start(*, workers: int = 3, env: dict | None = None):
        database_url = seeded_database_url(tmp_path, f"demo-{uuid.uuid4().hex}.sqlite3")
        return gunicorn_server(
            database_url=database_url, workers=workers, env={**WORKER_ACCESS_LOG, **(env or {})}
        )

    return start
