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

from .live_server import (
    DEMO_CARD,
    DEMO_CHECKING,
    DEMO_PIN,
    request,
    sign_in,
    worker_pids_that_served,
)

pytestmark = pytest.mark.server

WINDOW = 60


def window_end(key_value: str, now: float) -> int:
    """django-ratelimit's fixed windows end at a per-key offset (crc32 of the key) within each
    minute; the counter of a window is keyed by its end."""
    ts = int(now)
    end = ts - ts % WINDOW + zlib.crc32(key_value.encode()) % WINDOW
    return end + WINDOW if end < ts else end


def burst_in_one_window(server, key_value: str, count: int, send) -> list:
    """Fire `count` concurrent requests inside one window of `key_value`'s counter.

    A burst that straddled two windows would get two allowances and prove nothing, so it starts
    with at least 30 s of its window left; on a machine so loaded that it still runs over, it is
    repeated once in the window after next (the one it ran into has been counted into)."""
    for attempt in range(2):
        now = time.time()
        end = window_end(key_value, now)
        if attempt or end - now < 30:
            time.sleep(end - now + (WINDOW if attempt else 0) + 1)
            end = window_end(key_value, time.time())
        with ThreadPoolExecutor(max_workers=count) as pool:
            results = list(pool.map(lambda i: send(server, i), range(count)))
        if time.time() < end:
            return results
    pytest.fail("two bursts in a row outlasted their one-minute window: the machine is too slow")


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
    env = {
        # Money moves limited to 5 a minute here, so a burst can exceed it quickly.
        "RATELIMIT_MONEY_RATE": "5/m",
        # Sync workers serve one request at a time, so a concurrent burst must spread over the
        # processes; a threaded worker could take the whole burst alone and prove nothing.
        "GUNICORN_WORKER_CLASS": "sync",
        "GUNICORN_THREADS": "1",
    }
    return demo_server(workers=3, env=env)


def test_token_endpoint_allows_10_per_minute_per_ip_across_workers(server):
    def wrong_password(live, i):
        body = {"username": f"nobody{i}", "password": "wrong-password-123"}
        return request(live, "POST", "/api/v1/auth/token/", body)

    results = burst_in_one_window(server, "127.0.0.1", 24, wrong_password)

    assert sorted(statuses(results)) == [401] * 10 + [429] * 14
    for result in results:
        if result[0] == 429:
            assert_throttled(*result)
    assert len(worker_pids_that_served(server, "/api/v1/auth/token/")) >= 2


def test_card_endpoint_allows_5_per_minute_per_card_across_workers(server):
    def sign_in(live, i):
        return request(
            live, "POST", "/api/v1/auth/card/", {"card_number": DEMO_CARD, "pin": DEMO_PIN}
        )

    results = burst_in_one_window(server, DEMO_CARD, 9, sign_in)

    assert sorted(statuses(results)) == [200] * 5 + [429] * 4
    assert len(worker_pids_that_served(server, "/api/v1/auth/card/")) >= 2


def test_money_endpoints_allow_the_per_user_rate_across_workers(server):
    # A customer token (5 minutes): an ATM session's 2 minutes may not outlast the wait below.
    token = sign_in(server)
    balance_path = f"/api/v1/accounts/{DEMO_CHECKING}/balance/"
    before = request(server, "GET", balance_path, token=token)[2]["balance"]
    answered = []

    def deposit(live, i):
        path = f"/api/v1/accounts/{DEMO_CHECKING}/deposit/"
        result = request(live, "POST", path, {"amount": "1.00"}, token=token)
        answered.append(result[0])
        return result

    # The per-user counter is keyed by the user's primary key.
    results = burst_in_one_window(server, str(user_id_of(token)), 8, deposit)

    assert sorted(statuses(results)) == [201] * 5 + [429] * 3
    after = request(server, "GET", balance_path, token=token)[2]["balance"]
    # Refused requests moved no money; every allowed one did.
    assert Decimal(after) - Decimal(before) == answered.count(201) * Decimal("1.00")
    assert len(worker_pids_that_served(server, f"/api/v1/accounts/{DEMO_CHECKING}/deposit/")) >= 2
