"""OWASP API4 (unrestricted resource consumption): rate limits hold across gunicorn workers.

Each test starts a real 3-worker gunicorn on its own database and fires a concurrent burst, so
the requests land on several workers (the access log proves it) and race for the counter: a
per-process cache, or a counter that loses increments, lets more than the limit through.
"""

import base64
import json
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest

from .live_server import DEMO_CARD, DEMO_CHECKING, DEMO_PIN, request, worker_pids_that_served

pytestmark = pytest.mark.server

WINDOW = 60


def wait_for_a_fresh_window(key_value: str, needed: float = 15) -> None:
    """django-ratelimit's fixed windows end at a per-key offset (crc32 of the key) within each
    minute; start a burst only when its window has `needed` seconds left, so it cannot straddle
    two windows and get two allowances."""
    now = time.time()
    end = now - now % WINDOW + zlib.crc32(key_value.encode()) % WINDOW
    if end < now:
        end += WINDOW
    if end - now < needed:
        time.sleep(end - now + 1)


def burst(server, count: int, request) -> list[tuple[int, dict, dict]]:
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda i: request(server, i), range(count)))


def assert_throttled(status: int, headers, body) -> None:
    assert status == 429
    assert headers["Content-Type"] == "application/problem+json"
    assert body["code"] == "throttled"
    assert 1 <= int(headers["Retry-After"]) <= WINDOW


def statuses(results) -> list[int]:
    return [status for status, _, _ in results]


def user_id_of(token: str) -> str:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["user_id"]


@pytest.fixture
def server(demo_server):
    # Money moves limited to 5 a minute here so a burst can exceed it quickly.
    return demo_server(workers=3, env={"RATELIMIT_MONEY_RATE": "5/m"})


def test_token_endpoint_allows_10_per_minute_per_ip_across_workers(server):
    wait_for_a_fresh_window("127.0.0.1")

    def wrong_password(live, i):
        body = {"username": f"nobody{i}", "password": "wrong-password-123"}
        return request(live, "POST", "/api/v1/auth/token/", body)

    results = burst(server, 24, wrong_password)

    assert sorted(statuses(results)) == [401] * 10 + [429] * 14
    for result in results:
        if result[0] == 429:
            assert_throttled(*result)
    assert len(worker_pids_that_served(server, "/api/v1/auth/token/")) >= 2


def test_card_endpoint_allows_5_per_minute_per_card_across_workers(server):
    wait_for_a_fresh_window(DEMO_CARD)

    def sign_in(live, i):
        return request(
            live, "POST", "/api/v1/auth/card/", {"card_number": DEMO_CARD, "pin": DEMO_PIN}
        )

    results = burst(server, 9, sign_in)

    assert sorted(statuses(results)) == [200] * 5 + [429] * 4
    assert len(worker_pids_that_served(server, "/api/v1/auth/card/")) >= 2


def test_money_endpoints_allow_the_per_user_rate_across_workers(server):
    status, _, session = request(
        server, "POST", "/api/v1/auth/card/", {"card_number": DEMO_CARD, "pin": DEMO_PIN}
    )
    assert status == 200
    balance_path = f"/api/v1/accounts/{DEMO_CHECKING}/balance/"
    before = request(server, "GET", balance_path, token=session["access"])[2]["balance"]

    def deposit(live, i):
        path = f"/api/v1/accounts/{DEMO_CHECKING}/deposit/"
        return request(live, "POST", path, {"amount": "1.00"}, token=session["access"])

    # The per-user counter is keyed by the user's primary key.
    wait_for_a_fresh_window(str(user_id_of(session["access"])))
    results = burst(server, 8, deposit)

    assert sorted(statuses(results)) == [201] * 5 + [429] * 3
    after = request(server, "GET", balance_path, token=session["access"])[2]["balance"]
    # Refused requests moved no money; the allowed ones all did.
    assert Decimal(after) - Decimal(before) == Decimal("5.00")
    assert len(worker_pids_that_served(server, f"/api/v1/accounts/{DEMO_CHECKING}/deposit/")) >= 2
