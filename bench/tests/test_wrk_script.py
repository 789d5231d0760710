"""bench/wrk/ledger.lua in every mode, for a second against a small real server: each request
is one the API accepts, and the keys are sent exactly where they should be."""

import shutil
import sqlite3
import time
from urllib.parse import urlsplit

import pytest

from bench import report
from bench.harness import Client, open_funded_account, register
from bench.run import PASSWORD, WrkRunner

WRK = shutil.which("wrk")


# Posted transactions with and without an Idempotency-Key: a key names its transaction in the
# money's own database transaction, so a posted transaction without one was sent without one.
POSTED = """
SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM transactions_idempotencykey AS k
                                      WHERE k.transaction_id = t.id)),
       count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM transactions_idempotencykey AS k
                                          WHERE k.transaction_id = t.id))
FROM transactions_transaction AS t
"""


def counts(database_url: str, account_number: str) -> dict:
    """Transactions posted with a key and without, and the hot account's balance."""
    with sqlite3.connect(urlsplit(database_url).path) as db:
        keyed, keyless = db.execute(POSTED).fetchone()
        (balance,) = db.execute(
            "SELECT balance FROM accounts_account WHERE number = ?", [account_number]
        ).fetchone()
    return {"keyed": keyed, "keyless": keyless, "balance": balance}


def settled_counts(database_url: str, account_number: str) -> dict:
    """`counts` once the request wrk left in flight, if any, has been posted: unchanged for
    half a second (a transfer takes milliseconds)."""
    previous, deadline = counts(database_url, account_number), time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        current = counts(database_url, account_number)
        if current == previous:
            return current
        previous = current
    raise AssertionError("the server kept posting after wrk had stopped")


@pytest.mark.server
@pytest.mark.skipif(WRK is None, reason="needs wrk (make bench installs it)")
def test_every_mode_is_answered_2xx_and_sends_a_key_unless_told_not_to(gunicorn_server, tmp_path):
    server = gunicorn_server(workers=2, env={"RATELIMIT_ENABLE": "0"})
    port, database_url = urlsplit(server.url).port, server.env["DATABASE_URL"]
    customer = register(port, "bench-wrk", PASSWORD)
    client = Client(port, customer.token(port))
    numbers = [open_funded_account(client, "1000.00") for _ in range(3)]
    client.close()
    accounts = tmp_path / "accounts.txt"
    accounts.write_text("\n".join(numbers) + "\n")
    load = WrkRunner(WRK, customer, accounts, port=port)

    deltas, before = {}, counts(database_url, numbers[0])
    for mode in (*report.RUNS, "history"):
        run = load.run(mode, duration=1, connections=1, threads=1)
        after = settled_counts(database_url, numbers[0])
        assert run["requests"] > 0 and report.failed(run) == 0, (mode, run)
        deltas[mode] = {name: after[name] - before[name] for name in after}
        deltas[mode]["requests"] = run["requests"]
        before = after

    # The request in flight when wrk stopped was posted but not counted by wrk.
    for mode in ("spread", "hot", "hot_deposit"):
        assert deltas[mode]["keyless"] == 0, (mode, deltas)
        assert deltas[mode]["keyed"] >= deltas[mode]["requests"], (mode, deltas)
    assert deltas["spread_nokey"]["keyed"] == 0, deltas
    assert deltas["spread_nokey"]["keyless"] >= deltas["spread_nokey"]["requests"], deltas
    assert deltas["hot"]["balance"] < 0 < deltas["hot_deposit"]["balance"], deltas
    for mode in ("balance", "history"):
        assert deltas[mode]["keyed"] == deltas[mode]["keyless"] == 0, (mode, deltas)
