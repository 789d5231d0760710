"""The bench's ATM scenarios run end to end against a real (small) server: every session
succeeds, each step is timed, and the holds it made were all captured."""

from urllib.parse import urlsplit

import pytest

from atm_project.testing.live_server import run_manage
from bench import atm
from bench.harness import Client, open_funded_account, sign_up


@pytest.mark.server
def test_hold_capture_and_one_step_withdrawal_sessions_run(gunicorn_server):
    server = gunicorn_server(workers=2, env={"RATELIMIT_ENABLE": "0"})
    port = urlsplit(server.url).port
    _, token = sign_up(port, "bench-smoke", "bench-pass-2468-ledger")
    client = Client(port, token)
    numbers = [open_funded_account(client, "100.00") for _ in range(2)]

    results = atm.compare(port, token, numbers, atms=1, duration=1)

    assert set(results) == {"atm_withdraw", "atm_hold_capture"}
    for scenario, steps in (
        ("atm_withdraw", {"card_sign_in", "withdraw"}),
        ("atm_hold_capture", {"card_sign_in", "hold", "capture"}),
    ):
        assert results[scenario]["sessions"] >= 1, results
        assert results[scenario]["failed"] == 0, results
        assert set(results[scenario]["step_mean_ms"]) == steps
    status, holds = client.request("GET", "/api/v1/holds/?status=captured&limit=100")
    assert status == 200
    assert len(holds["results"]) == results["atm_hold_capture"]["sessions"]
    client.close()
    reconciled = run_manage(server.env["DATABASE_URL"], "reconcile")
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_a_summary_of_one_session_has_its_latency_as_every_percentile():
    summary = atm.summarize([12.5], 0, {"hold": [3.0, 5.0]}, elapsed=2.0, atms=1)
    assert (summary["p50_ms"], summary["p99_ms"], summary["sessions_per_s"]) == (12.5, 12.5, 0.5)
    assert summary["step_mean_ms"] == {"hold": 4.0}
