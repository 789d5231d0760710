"""Sign-in limits that a stranger cannot turn into a lock-out: per username and address
(5/min), per address (10/min), and a ceiling per username over all addresses (50/hour)."""

import pytest

from users.tests.factories import DEFAULT_PASSWORD

from .test_throttling import TOKEN, assert_throttled, post

pytestmark = pytest.mark.django_db


def wrong(user) -> dict:
    return {"username": user.username, "password": "wrong-password-1"}


def test_a_stranger_guessing_from_one_address_does_not_lock_the_owner_out(api_client, user):
    for _ in range(5):
        assert post(api_client, TOKEN, wrong(user), ip="203.0.113.66").status_code == 401
    assert_throttled(post(api_client, TOKEN, wrong(user), ip="203.0.113.66"))
    right = {"username": user.username, "password": DEFAULT_PASSWORD}
    assert post(api_client, TOKEN, right, ip="198.51.100.7").status_code == 200


def test_one_address_gets_10_attempts_a_minute_over_all_usernames(api_client):
    for i in range(10):
        body = {"username": f"someone{i}", "password": "x" * 12}
        assert post(api_client, TOKEN, body, ip="203.0.113.9").status_code == 401
    assert_throttled(post(api_client, TOKEN, {"username": "x", "password": "y"}, ip="203.0.113.9"))


def test_guessing_spread_over_many_addresses_meets_the_per_username_ceiling(api_client, user):
    for i in range(50):
        response = post(api_client, TOKEN, wrong(user), ip=f"10.0.{i // 200}.{i % 200 + 1}")
        assert response.status_code == 401
    # The 51st attempt this hour, from yet another address, is refused even with the password.
    right = {"username": user.username, "password": DEFAULT_PASSWORD}
    assert_throttled(post(api_client, TOKEN, right, ip="192.0.2.200"), window=3600)


def test_the_ceiling_is_configurable(api_client, user, settings):
    settings.SIGNIN_USERNAME_CEILING = "2/h"
    for i in range(2):
        assert post(api_client, TOKEN, wrong(user), ip=f"10.1.0.{i + 1}").status_code == 401
    assert_throttled(post(api_client, TOKEN, wrong(user), ip="10.1.0.9"), window=3600)


def test_fullwidth_and_case_variants_share_the_counters(api_client, user):
    variants = [user.username.upper(), "".join(chr(ord(c) + 0xFEE0) for c in user.username)]
    for i in range(5):
        body = {"username": variants[i % 2], "password": "wrong-password-1"}
        assert post(api_client, TOKEN, body, ip="203.0.113.70").status_code == 401
    assert_throttled(post(api_client, TOKEN, wrong(user), ip="203.0.113.70"))
