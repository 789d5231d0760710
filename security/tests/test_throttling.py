"""Rate limits (docs/api.md "Rate limits"), in process: which endpoint, which key, what a
refusal looks like."""

from datetime import timedelta

import pytest
from django.core.cache import cache, caches
from django.db import connection
from django.utils import timezone

from atm_project.testing.problems import assert_problem, assert_throttled
from atm_project.testing.racing import race
from audit.models import AuditEvent
from security.throttling import THROTTLED_EVENT
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
CARD = "/api/v1/auth/card/"
REGISTER = "/api/v1/auth/register/"
RESET = "/api/v1/auth/password/reset/"
RESET_CONFIRM = "/api/v1/auth/password/reset/confirm/"
CHANGE = "/api/v1/auth/password/change/"


def post(client, path, body, ip="203.0.113.7"):
    return client.post(path, body, format="json", REMOTE_ADDR=ip)


def test_token_endpoint_allows_10_per_minute_per_ip(api_client):
    for i in range(10):
        response = post(api_client, TOKEN, {"username": f"nobody{i}", "password": "x" * 12})
        assert response.status_code == 401
    assert_throttled(post(api_client, TOKEN, {"username": "nobody-else", "password": "x" * 12}))
    # Another address has its own allowance.
    other = post(api_client, TOKEN, {"username": "nobody", "password": "x" * 12}, ip="192.0.2.1")
    assert other.status_code == 401


def test_ipv6_clients_are_counted_per_64_network(api_client):
    for i in range(10):
        body = {"username": f"n{i}", "password": "x"}
        assert post(api_client, TOKEN, body, ip=f"2001:db8:1:2::{i + 1:x}").status_code == 401
    body = {"username": "n", "password": "x"}
    assert_throttled(post(api_client, TOKEN, body, ip="2001:db8:1:2:ffff::1"))


def test_card_endpoint_allows_5_per_minute_per_card(api_client):
    card = {"card_number": "4000001234567899", "pin": "1111"}
    for i in range(5):
        response = post(api_client, CARD, card, ip=f"198.51.100.{i}")
        assert_problem(response, 401, "authentication_failed")  # no such card
    spaced = {"card_number": "4000 0012 3456 7899", "pin": "1111"}
    assert_throttled(post(api_client, CARD, card, ip="198.51.100.50"))
    assert_throttled(post(api_client, CARD, spaced, ip="198.51.100.51"))


def test_card_endpoint_allows_10_per_minute_per_ip(api_client):
    for i in range(10):
        body = {"card_number": f"40000012345678{i:02d}", "pin": "1111"}
        assert_problem(post(api_client, CARD, body), 401, "authentication_failed")
    assert_throttled(post(api_client, CARD, {"card_number": "4000001234567899", "pin": "1111"}))


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (REGISTER, {"username": "someone", "password": "short"}, 400),
        (RESET, {"email": "someone@example.com"}, 202),
        (RESET_CONFIRM, {"uid": "MQ", "token": "bad", "new_password": "blue-otter-7431"}, 400),
    ],
    ids=["register", "reset", "reset-confirm"],
)
def test_register_and_password_reset_allow_5_per_minute_per_ip(api_client, path, body, status):
    for _ in range(5):
        assert post(api_client, path, body).status_code == status
    assert_throttled(post(api_client, path, body))


def test_password_change_allows_5_guesses_per_minute_per_user(auth_client):
    body = {"old_password": "guess-guess-1", "new_password": "blue-otter-7431"}
    for _ in range(5):
        assert post(auth_client, CHANGE, body).status_code == 400
    assert_throttled(post(auth_client, CHANGE, body))


def test_money_endpoints_have_a_per_user_limit_from_settings(
    settings, user, client_for, account, other_account
):
    settings.RATELIMIT_MONEY_RATE = "3/m"
    client = client_for(user)
    moves = [
        (f"/api/v1/accounts/{account.number}/deposit/", {"amount": "1.00"}),
        (f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "1.00"}),
        (
            "/api/v1/transfers/",
            {"from_account": account.number, "to_account": other_account.number, "amount": "1"},
        ),
    ]
    for path, body in moves:
        assert post(client, path, body).status_code == 201
    for path, body in moves:
        assert_throttled(post(client, path, body))
    # Reads are not money moves, and the limit is per user.
    assert client.get(f"/api/v1/accounts/{account.number}/balance/").status_code == 200
    other = client_for(other_account.owner)
    deposit = f"/api/v1/accounts/{other_account.number}/deposit/"
    assert post(other, deposit, {"amount": "1.00"}).status_code == 201


def test_money_limit_defaults_to_120_per_minute(settings):
    from atm_project import settings as production

    assert production.RATELIMIT_MONEY_RATE == "120/m"


def test_ratelimit_enable_off_switches_every_throttle_off(settings, api_client):
    settings.RATELIMIT_ENABLE = False
    for i in range(15):
        response = post(api_client, TOKEN, {"username": "nobody", "password": f"wrong-{i}"})
        assert response.status_code == 401


def test_first_refusal_of_a_window_is_audited_once(api_client):
    for i in range(13):
        post(api_client, REGISTER, {"username": f"u{i}", "password": "short"})
    events = AuditEvent.objects.filter(action=THROTTLED_EVENT)
    assert events.count() == 1
    event = events.get()
    assert event.object_id == "auth.register.ip"
    assert event.ip == "203.0.113.7"
    assert event.data["path"] == REGISTER


def test_refused_request_does_not_reach_the_view(api_client, user):
    for _ in range(5):
        post(api_client, TOKEN, {"username": user.username, "password": "wrong-password-1"})
    response = post(api_client, TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD})
    assert_throttled(response)
    assert "access" not in response.json()


# --- the shared cache ---------------------------------------------------------------------------


def later_by(monkeypatch, delta: timedelta) -> None:
    """The cache's clock moved on by `delta`."""
    moment = timezone.now() + delta
    monkeypatch.setattr("security.cache.timezone.now", lambda: moment)


def cache_keys() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM django_cache")
        return {row[0].rsplit(":", 1)[-1] for row in cursor.fetchall()}


def test_database_cache_increments_keep_the_expiry():
    cache.add("counter", 1, 60)
    assert cache.incr("counter") == 2
    assert cache.incr("counter", 5) == 7
    assert cache.get("counter") == 7
    with pytest.raises(ValueError, match="not found"):
        cache.incr("missing")


def test_database_cache_expired_counter_cannot_be_incremented(monkeypatch):
    cache.add("old", 1, 60)
    later_by(monkeypatch, timedelta(minutes=5))
    with pytest.raises(ValueError, match="not found"):
        cache.incr("old")


def test_database_cache_add_starts_a_key_once_per_life(monkeypatch):
    assert cache.add("window", 1, 60) is True
    assert cache.add("window", 9, 60) is False  # alive: left alone
    assert cache.get("window") == 1
    later_by(monkeypatch, timedelta(minutes=5))
    # Expired: the next add takes the row over, as a new window of the counter.
    assert cache.add("window", 7, 600) is True
    assert cache.incr("window") == 8


def test_database_cache_drops_expired_entries_never_live_ones(settings, monkeypatch):
    """Django's cull would drop a third of the live counters past MAX_ENTRIES rows (each a
    limit reset for someone); here only expired rows go, when a key starts a window or a set()
    finds the table full."""
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "OPTIONS": {"MAX_ENTRIES": 3}},
    }
    short = caches["default"]
    for name in ("a", "b"):
        short.add(name, 1, 30)
    for name in ("c", "d", "e", "f"):
        short.add(name, 1, 3600)
    later_by(monkeypatch, timedelta(minutes=5))
    short.add("g", 1, 3600)
    assert cache_keys() == {"c", "d", "e", "f", "g"}

    short.set("lock", 1, 3600)  # over MAX_ENTRIES: Django's set() culls
    assert cache_keys() == {"c", "d", "e", "f", "g", "lock"}


@pytest.mark.django_db(transaction=True)
def test_database_cache_racing_adds_start_one_window(requires_postgres):
    shared = caches["default"]
    added = race(8, lambda _: shared.add("first", 1, 60))
    assert added.count(True) == 1
    assert shared.get("first") == 1


@pytest.mark.django_db(transaction=True)
def test_database_cache_increments_lose_nothing_under_concurrency(requires_postgres):
    shared = caches["default"]
    shared.add("race", 0, 60)
    threads, per_thread = 8, 10

    def hammer(_):
        for _ in range(per_thread):
            shared.incr("race")

    race(threads, hammer)
    assert shared.get("race") == threads * per_thread
