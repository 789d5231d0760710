"""The database unreachable: 503 service_unavailable with Retry-After, never a 500.

A real gunicorn pointed at a PostgreSQL port nothing listens on: every request that needs the
database, signed in or not, and the health check, answer 503 problem documents.
"""

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from atm_project.testing.live_server import HOST, free_port

pytestmark = pytest.mark.server


def assert_unavailable(result) -> dict:
    assert result.status == 503, result.body
    assert result.headers["Content-Type"] == "application/problem+json"
    assert int(result.headers["Retry-After"]) >= 1
    body = result.json()
    assert body["code"] == "service_unavailable"
    return body


@pytest.fixture
def server_without_database(gunicorn_server):
    return gunicorn_server(
        database_url=f"postgres://postgres@{HOST}:{free_port()}/atm_unreachable", workers=1
    )


def test_every_kind_of_request_answers_503(server_without_database):
    server = server_without_database
    body = assert_unavailable(server.request("GET", "/healthz"))
    assert (body["database"], body["cache"]) == ("unavailable", "unavailable")
    # Sign-in needs its rate-limit counters (in the database when there is no Redis).
    credentials = {"username": "demo", "password": "demo-pass-2468"}
    assert_unavailable(server.request("POST", "/api/v1/auth/token/", credentials))
    # A signed-in request fails while looking up its user.
    token = AccessToken()
    token["user_id"] = 1
    assert_unavailable(server.request("GET", "/api/v1/accounts/", token=str(token)))
    assert "Traceback" not in server.log_text()
