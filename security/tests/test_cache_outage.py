"""The shared cache down: sign-in paths fail closed (503), money keeps moving (fails open).

In process against a Redis URL on a port nothing listens on, and over HTTP against a real
redis-server that the test starts, stops and starts again.
"""

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from accounts.tests.factories import TEST_PIN, issue_test_card
from atm_project.demo import DEMO_CHECKING, DEMO_PASSWORD, DEMO_USERNAME
from atm_project.testing.live_server import HOST, free_port, sign_in
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD


def redis_cache_at(port: int) -> dict:
    return {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://{HOST}:{port}/12",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


@pytest.fixture
def cache_down():
    with override_settings(CACHES=redis_cache_at(free_port())):
        yield


def assert_unavailable(response) -> dict:
    assert response.status_code == 503, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert int(response["Retry-After"]) >= 1
    body = response.json()
    assert body["code"] == "service_unavailable"
    return body


@pytest.mark.django_db
def test_sign_in_fails_closed_without_the_cache(api_client, user, cache_down):
    body = {"username": user.username, "password": DEFAULT_PASSWORD}
    assert_unavailable(api_client.post("/api/v1/auth/token/", body, format="json"))


@pytest.mark.django_db
def test_card_sign_in_fails_closed_without_the_cache(api_client, account, cache_down):
    card = issue_test_card(account)
    body = {"card_number": card.number, "pin": TEST_PIN}
    assert_unavailable(api_client.post("/api/v1/auth/card/", body, format="json"))


@pytest.mark.django_db
def test_registration_fails_closed_and_creates_nobody(api_client, cache_down):
    body = {"username": "newcomer", "password": "blue-otter-7431"}
    assert_unavailable(api_client.post("/api/v1/auth/register/", body, format="json"))
    assert not User.objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_password_reset_fails_closed(api_client, user, cache_down, mailoutbox):
    body = {"email": user.email}
    assert_unavailable(api_client.post("/api/v1/auth/password/reset/", body, format="json"))
    assert mailoutbox == []


@pytest.mark.django_db
def test_money_throttle_fails_open_and_is_counted(auth_client, account, cache_down):
    def failed_open() -> float:
        sample = "atm_rate_limits_failed_open_total"
        return REGISTRY.get_sample_value(sample, {"scope": "money.user"}) or 0.0

    before = failed_open()
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", {"amount": "10.00"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["balance_after"] == "510.00"
    assert failed_open() == before + 1


@pytest.mark.django_db
def test_healthz_reports_the_cache_down(api_client, cache_down):
    response = api_client.get("/healthz")
    body = assert_unavailable(response)
    assert (body["database"], body["cache"]) == ("ok", "unavailable")


@pytest.mark.django_db
def test_healthz_reports_database_and_cache(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}


@contextmanager
def redis_server(port: int):
    """A redis-server of this test's own on a loopback port, without persistence."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("needs redis-server on PATH")
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex((HOST, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port}")


@pytest.mark.server
def test_stopping_a_real_redis_closes_sign_in_and_keeps_money_moving(demo_server):
    port = free_port()
    with redis_server(port):
        server = demo_server(workers=1, env={"REDIS_URL": f"redis://{HOST}:{port}/12"})
        token = sign_in(server)
        assert server.request("GET", "/healthz").json()["cache"] == "ok"
    # Redis is stopped now.
    credentials = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
    refused = server.request("POST", "/api/v1/auth/token/", credentials)
    assert (refused.status, refused.json()["code"]) == (503, "service_unavailable")
    assert int(refused.headers["Retry-After"]) >= 1
    deposit = f"/api/v1/accounts/{DEMO_CHECKING}/deposit/"
    moved = server.request("POST", deposit, {"amount": "5.00"}, token=token)
    assert moved.status == 201, moved.body
    health = server.request("GET", "/healthz")
    assert (health.status, health.json()["database"], health.json()["cache"]) == (
        503,
        "ok",
        "unavailable",
    )
    assert "rate limit money.user not applied" in server.log_text()
    with redis_server(port):
        assert sign_in(server)
        assert server.request("GET", "/healthz").status == 200
