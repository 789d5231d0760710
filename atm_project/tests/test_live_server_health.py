"""/healthz and the API docs through a real gunicorn server."""

import re

import pytest

from atm_project.testing.live_server import free_port
from atm_project.testing.problems import assert_problem

pytestmark = pytest.mark.server


def test_healthz_is_200_and_the_docs_assets_are_served_locally(gunicorn_server):
    server = gunicorn_server(workers=1)
    health = server.request("GET", "/healthz")
    assert health.status == 200
    assert health.json() == {"status": "ok", "database": "ok", "cache": "ok"}
    assert health.headers["X-Request-ID"]

    docs = server.request("GET", "/api/docs/")
    assert docs.status == 200
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css|png))"', docs.body.decode())
    assert assets, docs.body
    for asset in assets:
        assert asset.startswith("/static/"), asset
        served = server.request("GET", asset)
        assert served.status == 200, asset
        assert len(served.body) > 100, asset


def test_healthz_is_a_503_problem_when_the_database_is_down(gunicorn_server):
    # A PostgreSQL URL on a loopback port where nothing listens: every connection is refused.
    dead = f"postgres://postgres@127.0.0.1:{free_port()}/atm_core"
    server = gunicorn_server(database_url=dead, workers=1)
    for path in ("/healthz", "/healthz/"):
        response = server.request("GET", path)
        assert_problem(response, 503, "service_unavailable")
        assert "127.0.0.1" not in response.body.decode()  # no connection details leak
    server.stop()
    assert "Traceback" not in server.log_text()
