"""Two app instances (separate gunicorn masters) on one PostgreSQL and one Redis behave as one.

This is the deployment of docs/deployment.md: N stateless hosts behind a load balancer. Nothing a
host keeps in its own memory may matter, so a login throttle counts attempts made on either host,
and an Idempotency-Key used on one host is honoured on the other.

Needs PostgreSQL (the servers share the test database, so the test commits: transaction=True) and
Redis (REDIS_URL on both servers). Redis database 13 is this test's own: it is emptied before and
after, so counters of an earlier run cannot leak in.
"""

import os
import time
import uuid
from decimal import Decimal

import pytest
import redis
from django.db import connection

from accounts.models import Account
from atm_project.testing.live_server import (
    open_funded_account,
    register,
    run_gunicorn,
    server_database_url,
    sign_in,
)
from atm_project.testing.problems import assert_throttled
from atm_project.testing.racing import race
from atm_project.testing.ratelimit import window_end

pytestmark = pytest.mark.server

REDIS_URL = os.environ.get("TWO_INSTANCES_REDIS_URL", "redis://127.0.0.1:6379/13")
# Unlike any generated username, so the similarity validator never refuses it.
PASSWORD = "Velvet-Harbour-7319"
LOGIN_LIMIT = 5  # docs/api.md "Rate limits": token endpoint, 5/min per username


def shared_redis() -> redis.Redis | None:
    """This test's own Redis database, emptied; None (after a skip) when Redis is unreachable."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"needs Redis at {REDIS_URL}: {error}")
    client.flushdb()
    return client


@pytest.fixture(scope="module")
def two_instances(django_db_setup, django_db_blocker, tmp_path_factory):
    """Two gunicorn masters (2 workers each) on the test database and one Redis, for the module:
    starting servers is the slow part, and the tests share nothing but the servers."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: run with DATABASE_URL=postgres://...")
    redis_client = shared_redis()
    options = {
        "database_url": server_database_url(),
        "workers": 2,
        "env": {"REDIS_URL": REDIS_URL, "RATELIMIT_ENABLE": "1"},
        "log_dir": tmp_path_factory.mktemp("two-instances"),
    }
    with run_gunicorn(**options) as first, run_gunicorn(**options) as second:
        yield first, second
    redis_client.flushdb()
    redis_client.close()


def username_with_time_left(needed: float = 45) -> str:
    """A fresh username whose rate-limit window has `needed` seconds left.

    django-ratelimit's fixed windows end at an offset of crc32(key) within each period; a burst
    that straddled two windows would get two allowances. Choosing the name (rather than sleeping)
    keeps the test fast and deterministic; 45 s leaves room for the seven Argon2-checked sign-ins
    on a busy machine.
    """
    while True:
        name = f"two-hosts-{uuid.uuid4().hex[:10]}"
        now = time.time()
        if window_end(name.casefold(), now) - now >= needed:
            return name


@pytest.mark.django_db(transaction=True)
def test_login_throttle_counts_attempts_on_both_instances(two_instances):
    first, second = two_instances
    username = username_with_time_left()
    register(second, username, PASSWORD)

    statuses = []
    for attempt in range(LOGIN_LIMIT + 1):
        host = two_instances[attempt % 2]
        bad = {"username": username, "password": f"wrong-{attempt}-password"}
        statuses.append(host.request("POST", "/api/v1/auth/token/", bad))

    # Each host alone saw 3 attempts, fewer than the limit: only a shared counter refuses the 6th.
    assert [result.status for result in statuses] == [401] * LOGIN_LIMIT + [429]
    assert_throttled(statuses[-1])
    # The right password is refused too while the window lasts, on either host.
    assert (
        first.request(
            "POST", "/api/v1/auth/token/", {"username": username, "password": PASSWORD}
        ).status
        == 429
    )


@pytest.mark.django_db(transaction=True)
def test_an_idempotency_key_moves_money_once_across_instances(two_instances):
    first, second = two_instances
    username = f"two-hosts-{uuid.uuid4().hex[:10]}"
    register(second, username, PASSWORD)
    token = sign_in(first, username, PASSWORD)
    source = open_funded_account(first, token, deposit="100.00")
    target = open_funded_account(second, token, deposit="1.00")
    key = str(uuid.uuid4())
    body = {"from_account": source, "to_account": target, "amount": "10.00"}

    def send(host):
        return host.request(
            "POST", "/api/v1/transfers/", body, token=token, headers={"Idempotency-Key": key}
        )

    # The same request on both hosts at once, several times: whatever the interleaving, one
    # transfer. A request that finds the key still running gets 409 and may retry.
    racing = race(6, lambda i: send(two_instances[i % 2]))
    assert {result.status for result in racing} <= {201, 409}
    retried = [send(first), send(second)]

    answers = [r for r in racing + retried if r.status == 201]
    assert retried[0].status == retried[1].status == 201
    assert len({r.json()["id"] for r in answers}) == 1
    assert all(r.json() == answers[0].json() for r in answers)
    assert all(r.headers.get("Idempotent-Replayed") == "true" for r in retried)
    balances = dict(
        Account.objects.filter(number__in=[source, target]).values_list("number", "balance")
    )
    assert balances == {source: Decimal("90.00"), target: Decimal("11.00")}
