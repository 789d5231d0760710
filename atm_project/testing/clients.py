"""Signed-in API clients: a customer (JWT) or an ATM session (card + PIN), the way tests need them.

    from atm_project.testing.clients import atm_session, sign_in, token_client

    tokens = sign_in(user.username)              # POST /api/v1/auth/token/, must succeed
    client = token_client(tokens["access"])      # sends that access token
    atm = atm_session(card)                      # signed in at the ATM with the card's test PIN
    atm.post(account_url(card.account, "withdraw"), {"amount": "20.00"}, format="json")

The `auth_client` and `client_for` fixtures of conftest.py are built on `bearer_client`.
"""

from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import TEST_PIN
from users.tests.factories import DEFAULT_PASSWORD

TOKEN_URL = "/api/v1/auth/token/"  # noqa: S105 - a path, not a password
CARD_SIGN_IN_URL = "/api/v1/auth/card/"


def account_url(account, action: str = "") -> str:
    """The API route of `account`, or of one of its actions: account_url(account, "deposit")."""
    return f"/api/v1/accounts/{account.number}/" + (f"{action}/" if action else "")


def token_client(access: str, client: APIClient | None = None) -> APIClient:
    """`client` (a new one by default) sending `access` as its bearer token."""
    client = client or APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def bearer_client(user) -> APIClient:
    """A client with a fresh access token of `user`, minted without a sign-in request."""
    return token_client(str(RefreshToken.for_user(user).access_token))


def sign_in(username: str, password: str = DEFAULT_PASSWORD) -> dict:
    """Sign in over the API; the `{"access", "refresh"}` answer."""
    response = APIClient().post(
        TOKEN_URL, {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def card_sign_in(card_number: str, pin: str = TEST_PIN):
    """The response of an ATM sign-in, whatever it is."""
    body = {"card_number": card_number, "pin": pin}
    return APIClient().post(CARD_SIGN_IN_URL, body, format="json")


def atm_session(card, pin: str = TEST_PIN) -> APIClient:
    """A client signed in at the ATM with `card`, which must succeed."""
    response = card_sign_in(card.number, pin)
    assert response.status_code == 200, response.content
    return token_client(response.json()["access"])
