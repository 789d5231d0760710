"""OWASP API4 (unrestricted resource consumption): rate limits hold across gunicorn workers.

Each test starts a real 3-worker gunicorn on its own database and fires a concurrent burst, so
the requests land on several workers (the access log proves it) and race for the counter: a
per-process cache, or a counter that loses increments, lets more than the limit through.
"""

import base64
import json
import time
from decimal import Decimal

import pytest

from atm_project.demo import DEMO_CARD, DEMO_CHECKING, DEMO_PIN
from atm_project.testing.live_server import sign_in, worker_pids_that_served
from atm_project.testing.problems import assert_throttled
from atm_project.testing.racing import race
from atm_project.testing.ratelimit import WINDOW, window_end

pytestmark = pytest.mark.server


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
        results = race(count, lambda i: send(server, i))
        if time.time() < end:
            return results
    pytest.fail("two bursts in a row outlasted their one-minute window: the machine is too slow")


def statuses(results) -> list[int]:
    return [result.status for result in results]


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
        return live.request("POST", "/api/v1/auth/token/", body)

    results = burst_in_one_window(server, "127.0.0.1", 24, wrong_password)

    assert sorted(statuses(results)) == [401] * 10 + [429] * 14
    for result in results:
        if result.status == 429:
            assert_throttled(result)
    assert len(worker_pids_that_served(server, "/api/v1/auth/token/")) >= 2


def test_card_endpoint_allows_5_per_minute_per_card_across_workers(server):
    def card_sign_in(live, i):
        body = {"card_number": DEMO_CARD, "pin": DEMO_PIN}
        return live.request("POST", "/api/v1/auth/card/", body)

    results = burst_in_one_window(server, DEMO_CARD, 9, card_sign_in)

    assert sorted(statuses(results)) == [200] * 5 + [429] * 4
    assert len(worker_pids_that_served(server, "/api/v1/auth/card/")) >= 2


def test_money_endpoints_allow_the_per_user_rate_across_workers(server):
    # A customer token (5 minutes): an ATM session's 2 minutes may not outlast the wait below.
    token = sign_in(server)
    balance_path = f"/api/v1/accounts/{DEMO_CHECKING}/balance/"
    before = server.request("GET", balance_path, token=token).json()["balance"]
    answered = []

    def deposit(live, i):
        path = f"/api/v1/accounts/{DEMO_CHECKING}/deposit/"
        result = live.request("POST", path, {"amount": "1.00"}, token=token)
        answered.append(result.status)
        return result

    # The per-user counter is keyed by the user's primary key.
    results = burst_in_one_window(server, str(user_id_of(token)), 8, deposit)

    assert sorted(statuses(results)) == [201] * 5 + [429] * 3
    after = server.request("GET", balance_path, token=token).json()["balance"]
    # Refused requests moved no money; every allowed one did.
    assert Decimal(after) - Decimal(before) == answered.count(201) * Decimal("1.00")
    assert len(worker_pids_that_served(server, f"/api/v1/accounts/{DEMO_CHECKING}/deposit/")) >= 2
