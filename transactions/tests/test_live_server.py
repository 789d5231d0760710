"""The withdrawal race through a real multi-worker gunicorn server on SQLite.

Four worker processes, each with its own SQLite connection: only IMMEDIATE transactions, WAL and
the busy timeout stand between them and a lost update or a "database is locked" error.
"""

from collections import Counter

import pytest

from atm_project.testing.live_server import open_funded_account, register, run_manage, sign_in
from atm_project.testing.racing import race

pytestmark = pytest.mark.server

PASSWORD = "race-pass-8642"


def test_ten_concurrent_withdrawals_through_gunicorn_on_sqlite_let_exactly_five_through(
    gunicorn_server,
):
    server = gunicorn_server(workers=4)
    register(server, "racer", PASSWORD)
    token = sign_in(server, "racer", PASSWORD)
    number = open_funded_account(server, token, deposit="500.00")

    results = race(
        10,
        lambda _: server.request(
            "POST", f"/api/v1/accounts/{number}/withdraw/", {"amount": "100.00"}, token=token
        ),
    )

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
    reconcile = run_manage(server.env["DATABASE_URL"], "reconcile")
    assert reconcile.returncode == 0, reconcile.stdout + reconcile.stderr
