"""The withdrawal race through a real multi-worker gunicorn server on SQLite.

Four worker processes, each with its own SQLite connection: only IMMEDIATE transactions, WAL and
the busy timeout stand between them and a lost update or a "database is locked" error.
"""

import subprocess
import sys
import threading
from collections import Counter

import pytest

from atm_project.testing.live_server import BASE_DIR

pytestmark = pytest.mark.server

PASSWORD = "race-pass-8642"


def signed_in_account(server, *, opening_balance: str) -> tuple[str, str]:
    """Register a customer, sign in and open a funded account, all over HTTP."""
    credentials = {"username": "racer", "password": PASSWORD}
    assert server.request("POST", "/api/v1/auth/register/", credentials).status == 201
    token = server.request("POST", "/api/v1/auth/token/", credentials).json()["access"]
    opened = server.request("POST", "/api/v1/accounts/", {}, token=token)
    assert opened.status == 201, opened.body
    number = opened.json()["number"]
    deposit = server.request(
        "POST", f"/api/v1/accounts/{number}/deposit/", {"amount": opening_balance}, token=token
    )
    assert deposit.status == 201, deposit.body
    return token, number


def race_requests(count: int, send) -> list:
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def runner(index: int) -> None:
        barrier.wait(timeout=30)
        try:
            results[index] = send()
        except Exception as error:  # reported to the test
            results[index] = error

    threads = [threading.Thread(target=runner, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_ten_concurrent_withdrawals_through_gunicorn_on_sqlite_let_exactly_five_through(
    gunicorn_server,
):
    server = gunicorn_server(workers=4)
    token, number = signed_in_account(server, opening_balance="500.00")

    results = race_requests(
        10,
        lambda: server.request(
            "POST", f"/api/v1/accounts/{number}/withdraw/", {"amount": "100.00"}, token=token
        ),
    )

    assert all(hasattr(result, "status") for result in results), results
    assert Counter(result.status for result in results) == {201: 5, 422: 5}, [
        (result.status, result.body) for result in results
    ]
    refusals = [result.json() for result in results if result.status == 422]
    assert {body["code"] for body in refusals} == {"insufficient_funds"}
    balances = sorted(result.json()["balance_after"] for result in results if result.status == 201)
    assert balances == ["0.00", "100.00", "200.00", "300.00", "400.00"]
    balance = server.request("GET", f"/api/v1/accounts/{number}/balance/", token=token)
    assert balance.json()["balance"] == "0.00"

    server.stop()
    log = server.log_text()
    assert "database is locked" not in log
    assert "Traceback" not in log
    assert '" 500 ' not in log  # gunicorn's access log line of a 500
    # The ledger the workers wrote reconciles: balances = entries, every transaction sums to 0.
    reconcile = subprocess.run(
        [sys.executable, "manage.py", "reconcile"],
        cwd=BASE_DIR,
        env=server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
