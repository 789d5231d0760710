"""Tokens signed with the right key but carrying odd claims are refused (401), never a 500.

Only whoever holds the signing key can mint these, but a bug or a leaked key must not turn into
server errors: every claim is checked for its type and range before it is used.
"""

import time
import uuid

import jwt
import pytest
from django.conf import settings

from accounts.tests.factories import issue_test_card

pytestmark = pytest.mark.django_db

HUGE_EXP = 10**20  # a year far beyond what a datetime holds


def signed(**claims) -> str:
    now = int(time.time())
    payload = {"iat": now, "exp": now + 300, "jti": uuid.uuid4().hex, **claims}
    return jwt.encode(payload, settings.SECRET_KEY, algorithm="HS256")


def assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "authentication_failed"


def get_accounts(api_client, token: str):
    return api_client.get("/api/v1/accounts/", HTTP_AUTHORIZATION=f"Bearer {token}")


@pytest.mark.parametrize("user_id", ["abc", "1.5", [1], {"a": 1}, None, 10**30, -1])
def test_an_access_token_naming_no_possible_user_is_refused(api_client, user_id):
    assert_refused(get_accounts(api_client, signed(token_type="access", user_id=user_id)))


@pytest.mark.parametrize("exp", [HUGE_EXP, -HUGE_EXP, "soon", 1.5e300])
def test_an_access_token_with_an_impossible_expiry_is_refused(api_client, user, exp):
    token = signed(token_type="access", user_id=user.pk, exp=exp)
    assert_refused(get_accounts(api_client, token))


@pytest.mark.parametrize("account_claim", [{}, {"account_number": 12}, {"account_number": None}])
def test_an_atm_token_without_a_usable_account_is_refused(api_client, account, account_claim):
    card = issue_test_card(account)
    token = signed(token_type="atm", user_id=account.owner_id, card_id=card.pk, **account_claim)
    response = api_client.get(
        f"/api/v1/accounts/{account.number}/balance/", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert_refused(response)


@pytest.mark.parametrize(
    "claims",
    [{"user_id": "abc"}, {"user_id": None}, {"exp": HUGE_EXP}, {"exp": "soon"}],
    ids=["user-abc", "user-none", "exp-huge", "exp-text"],
)
@pytest.mark.parametrize("path", ["/api/v1/auth/token/refresh/", "/api/v1/auth/logout/"])
def test_a_refresh_token_with_odd_claims_is_refused(api_client, user, claims, path):
    token = signed(**{"token_type": "refresh", "user_id": user.pk, **claims})
    assert_refused(api_client.post(path, {"refresh": token}, format="json"))
