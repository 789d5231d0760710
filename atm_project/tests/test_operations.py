"""Operations over HTTP on a live gunicorn: JSON logs with the request id on every line (the
access log included), and Prometheus metrics added up across workers."""

import json
import re

import pytest

from atm_project.testing.live_server import LiveServer

pytestmark = pytest.mark.server

REGISTER, TOKEN, ACCOUNTS = "/api/v1/auth/register/", "/api/v1/auth/token/", "/api/v1/accounts/"


def signed_in_customer(server: LiveServer) -> str:
    credentials = {"username": "ops-check", "password": "blue-otter-7431"}
    assert server.request("POST", REGISTER, credentials).status == 201
    return server.request("POST", TOKEN, credentials).json()["access"]


def open_account(server: LiveServer, token: str) -> str:
    return server.request("POST", ACCOUNTS, {}, token=token).json()["number"]


def sample(metrics: str, name: str, **labels) -> float:
    """The value of one sample of the Prometheus text format (0 when absent)."""
    wanted = ",".join(f'{key}="{value}"' for key, value in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}\{{(.*)\}} (\S+)", line)
        if match and ",".join(sorted(match.group(1).split(","))) == wanted:
            return float(match.group(2))
    return 0.0


def test_json_logs_have_the_request_id_on_every_line_access_log_included(gunicorn_server):
    server = gunicorn_server(workers=2, env={"LOG_FORMAT": "json"})
    token = signed_in_customer(server)
    account = open_account(server, token)
    refused = server.request(
        "POST",
        f"{ACCOUNTS}{account}/withdraw/",
        {"amount": "5.00"},
        token=token,
        headers={"X-Request-ID": "support-case-4711"},
    )
    assert refused.status == 422
    server.stop()  # flushes every worker's lines

    lines = [line for line in server.log_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "request_id", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert len(access) >= 4
    (withdrawal,) = [r for r in access if r["request_id"] == "support-case-4711"]
    assert withdrawal["method"] == "POST"
    assert withdrawal["path"] == f"{ACCOUNTS}{account}/withdraw/"
    assert withdrawal["status"] == 422
    assert all(
        re.fullmatch(r"[0-9a-f]{32}", r["request_id"]) for r in access if r is not withdrawal
    )


def test_plain_access_lines_name_the_request_id(gunicorn_server):
    server = gunicorn_server(workers=1)
    server.request("GET", "/healthz", headers={"X-Request-ID": "plain-1234"})
    server.stop()

    access = [line for line in server.log_text().splitlines() if '"GET /healthz' in line]
    assert len(access) >= 2  # the fixture's readiness check, then ours
    assert access[-1].endswith("request_id=plain-1234")
    assert all(re.search(r" request_id=\S+$", line) for line in access)


def test_metrics_count_requests_latency_and_money_across_workers(gunicorn_server):
    server = gunicorn_server(workers=2)
    token = signed_in_customer(server)
    account = open_account(server, token)
    path = f"{ACCOUNTS}{account}"
    assert (
        server.request("POST", f"{path}/deposit/", {"amount": "30.00"}, token=token).status == 201
    )
    for _ in range(2):
        assert (
            server.request("POST", f"{path}/withdraw/", {"amount": "99"}, token=token).status == 422
        )
    for _ in range(6):  # spread over both workers
        assert server.request("GET", f"{path}/balance/", token=token).status == 200

    # Whichever worker answers the scrape, it reports what all of them counted.
    for _ in range(4):
        scrape = server.request("GET", "/metrics", headers={"Connection": "close"})
        assert scrape.status == 200
        assert scrape.headers["Content-Type"].startswith("text/plain; version=")
        metrics = scrape.body.decode()
        assert sample(metrics, "atm_money_movements_total", kind="deposit", outcome="posted") == 1
        refused = {"kind": "withdrawal", "outcome": "insufficient_funds"}
        assert sample(metrics, "atm_money_movements_total", **refused) == 2
        balance = {"method": "GET", "route": "account-balance", "status": "200"}
        assert sample(metrics, "atm_http_requests_total", **balance) == 6
        timed = {"method": "GET", "route": "account-balance"}
        assert sample(metrics, "atm_http_request_duration_seconds_count", **timed) == 6
    # The path's account number never becomes a label.
    assert account not in metrics


def test_metrics_need_the_token_when_not_from_loopback(gunicorn_server):
    server = gunicorn_server(workers=1, env={"METRICS_TOKEN": "scrape-secret-9"})
    proxied = {"X-Forwarded-For": "203.0.113.9"}  # through a proxy: not loopback

    refused = server.request("GET", "/metrics", headers=proxied)
    wrong = server.request(
        "GET", "/metrics", headers={**proxied, "Authorization": "Bearer scrape-secret-8"}
    )
    allowed = server.request(
        "GET", "/metrics", headers={**proxied, "Authorization": "Bearer scrape-secret-9"}
    )

    assert refused.status == wrong.status == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert b"atm_" not in refused.body
    assert allowed.status == 200 and b"atm_http_requests_total" in allowed.body
    assert server.request("GET", "/metrics").status == 200  # loopback itself
