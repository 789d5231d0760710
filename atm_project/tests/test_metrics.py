"""GET /metrics in-process: who may read it, and the counts of refused money movements and of
database and cache failures (the live, multi-worker scrape is in test_operations.py)."""

from unittest import mock

import pytest
from django.db import OperationalError
from prometheus_client import REGISTRY
from redis.exceptions import ConnectionError as RedisConnectionError
from rest_framework.test import APIClient


def value(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_metrics_are_open_on_loopback(client):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert b"# TYPE atm_http_requests_total counter" in response.content


@pytest.mark.parametrize("remote_addr", ["10.0.0.7", "::ffff:10.0.0.7", "not-an-address"])
def test_metrics_elsewhere_need_the_token(client, settings, remote_addr):
    settings.METRICS_TOKEN = "scrape-secret-9"

    refused = client.get("/metrics", REMOTE_ADDR=remote_addr)
    allowed = client.get(
        "/metrics", REMOTE_ADDR=remote_addr, HTTP_AUTHORIZATION="Bearer scrape-secret-9"
    )

    assert refused.status_code == 401
    assert allowed.status_code == 200


def test_without_a_token_configured_only_loopback_reads_metrics(client, settings):
    settings.METRICS_TOKEN = ""

    assert client.get("/metrics", REMOTE_ADDR="10.0.0.7").status_code == 401
    assert (
        client.get("/metrics", REMOTE_ADDR="10.0.0.7", HTTP_AUTHORIZATION="Bearer ").status_code
        == 401
    )


def test_metrics_answer_only_get(client):
    assert client.post("/metrics", REMOTE_ADDR="127.0.0.1").status_code == 405


@pytest.mark.django_db
def test_a_refused_withdrawal_is_counted_with_its_code(auth_client, account):
    labels = {"kind": "withdrawal", "outcome": "insufficient_funds"}
    before = value("atm_money_movements_total", **labels)

    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "999.00"}, format="json"
    )

    assert response.status_code == 422
    assert value("atm_money_movements_total", **labels) == before + 1


@pytest.mark.django_db
def test_database_errors_are_counted(auth_client):
    before = value("atm_database_errors_total", error="OperationalError")

    with mock.patch(
        "transactions.api.views.AccountViewSet.get_queryset",
        side_effect=OperationalError("connection refused"),
    ):
        response = auth_client.get("/api/v1/accounts/")

    assert response.status_code >= 500
    assert value("atm_database_errors_total", error="OperationalError") == before + 1


@pytest.mark.django_db
def test_cache_errors_are_counted(user):
    before = value("atm_cache_errors_total", error="ConnectionError")

    # As the rate limiter's cache call would raise it with Redis down.
    with mock.patch(
        "transactions.api.views.AccountViewSet.get_queryset",
        side_effect=RedisConnectionError("cache is down"),
    ):
        client = APIClient()
        client.force_authenticate(user)
        response = client.get("/api/v1/accounts/")

    assert response.status_code >= 500
    assert value("atm_cache_errors_total", error="ConnectionError") == before + 1
