"""POST /api/v1/auth/card/extend/: an active ATM customer keeps the session, up to a maximum age."""

from datetime import timedelta
from unittest import mock

import pytest
from rest_framework_simplejwt.utils import aware_utcnow

from accounts.models import Card
from accounts.tests.factories import TEST_PIN, issue_test_card
from accounts.tokens import ATMAccessToken
from atm_project.testing.clients import token_client
from atm_project.testing.problems import assert_problem

EXTEND = "/api/v1/auth/card/extend/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(account):
    return issue_test_card(account)


@pytest.fixture
def atm_token(api_client, card) -> str:
    response = api_client.post(
        "/api/v1/auth/card/", {"card_number": card.number, "pin": TEST_PIN}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()["access"]


def later(seconds: int):
    """simplejwt's clock, moved on: token issue times and the session's age both follow it."""
    moved = aware_utcnow() + timedelta(seconds=seconds)
    return mock.patch("accounts.tokens.aware_utcnow", return_value=moved)


def test_extend_returns_a_fresh_two_minute_token_for_the_same_account(atm_token, card):
    response = token_client(atm_token).post(EXTEND)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "account_number", "expires_in"}
    assert body["account_number"] == card.account.number
    assert body["expires_in"] == 120
    fresh, old = ATMAccessToken(body["access"]), ATMAccessToken(atm_token)
    assert fresh["jti"] != old["jti"]
    assert fresh["card_id"] == card.pk
    assert fresh["session_started_at"] == old["session_started_at"]
    balance = token_client(body["access"]).get(f"/api/v1/accounts/{card.account.number}/balance/")
    assert balance.status_code == 200


def test_extend_works_with_and_without_the_trailing_slash(atm_token):
    assert token_client(atm_token).post(EXTEND.rstrip("/")).status_code == 200


def test_a_chain_of_extensions_ends_at_the_maximum_session_age(atm_token, settings):
    settings.ATM_SESSION_MAX_SECONDS = 600
    with later(590):
        still_young = token_client(atm_token).post(EXTEND)
    assert still_young.status_code == 200, still_young.content
    extended = still_young.json()["access"]

    with later(600):
        too_old = token_client(extended).post(EXTEND)

    assert_problem(too_old, 401, "authentication_failed")
    assert "sign in with your card again" in too_old.json()["detail"]


def test_a_customer_token_cannot_extend(auth_client):
    assert_problem(auth_client.post(EXTEND), 403, "permission_denied")


def test_without_a_token_extend_is_401(api_client):
    assert_problem(api_client.post(EXTEND), 401, "not_authenticated")


def test_an_expired_atm_token_cannot_extend(card):
    token = ATMAccessToken.for_card(card)
    token.set_exp(from_time=aware_utcnow() - timedelta(minutes=3))

    assert_problem(token_client(str(token)).post(EXTEND), 401, "authentication_failed")


def test_a_card_blocked_during_the_session_cannot_extend(atm_token, card):
    Card.objects.filter(pk=card.pk).update(status=Card.Status.BLOCKED)

    assert_problem(token_client(atm_token).post(EXTEND), 403, "permission_denied")


def test_a_token_without_the_session_start_cannot_extend(card):
    token = ATMAccessToken.for_card(card)
    del token["session_started_at"]

    assert_problem(token_client(str(token)).post(EXTEND), 401, "authentication_failed")
