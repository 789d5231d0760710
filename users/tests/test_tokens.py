"""JWT hardening (OWASP API2): one algorithm, one signing key, checked type, short lives.

Forged tokens are built by hand (header, payload, signature) from a genuine token's claims, so
each test changes exactly one thing and everything else about the token is valid.
"""

import base64
import hashlib
import hmac
import json
import time

import pytest
from django.conf import settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import issue_test_card
from atm_project.testing.clients import card_sign_in, token_client
from atm_project.testing.problems import assert_problem

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"
REFRESH = "/api/v1/auth/token/refresh/"


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def hs(digest):
    def sign(signing_input: bytes, key: str = settings.SIMPLE_JWT["SIGNING_KEY"]) -> bytes:
        return hmac.new(key.encode(), signing_input, digest).digest()

    return sign


HS256 = hs(hashlib.sha256)


def forge(payload: dict, *, alg: str = "HS256", sign=HS256) -> str:
    header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    body = b64(json.dumps(payload).encode())
    signing_input = f"{header}.{body}".encode()
    return f"{header}.{body}.{b64(sign(signing_input))}"


def claims_of(user) -> dict:
    return dict(RefreshToken.for_user(user).access_token.payload)


def get_me(token: str):
    return token_client(token).get(ME)


def assert_refused(response) -> None:
    assert_problem(response, 401, "authentication_failed")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_hand_built_genuine_token_is_accepted(user):
    # The control: the forging helper itself produces tokens the API accepts.
    response = get_me(forge(claims_of(user)))
    assert response.status_code == 200
    assert response.json()["username"] == user.username


def test_alg_none_is_refused(user):
    assert_refused(get_me(forge(claims_of(user), alg="none", sign=lambda _: b"")))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_alg_none_spellings_with_a_valid_signature_are_refused(user, alg):
    assert_refused(get_me(forge(claims_of(user), alg=alg)))


def test_hs512_signed_with_the_real_key_is_refused(user):
    assert_refused(get_me(forge(claims_of(user), alg="HS512", sign=hs(hashlib.sha512))))


def test_rs256_header_is_refused_even_with_an_hmac_signature(user):
    # Algorithm confusion: an RS256 token "verified" with the HMAC secret as a public key.
    assert_refused(get_me(forge(claims_of(user), alg="RS256")))


def test_a_signature_by_another_key_is_refused(user):
    token = forge(claims_of(user), sign=lambda data: HS256(data, key="not-the-server-key"))
    assert_refused(get_me(token))


def test_an_expired_token_is_refused(user):
    claims = claims_of(user)
    claims["exp"] = int(time.time()) - 1
    assert_refused(get_me(forge(claims)))


def test_a_tampered_payload_is_refused(user, other_user):
    genuine = str(RefreshToken.for_user(user).access_token)
    header, _, signature = genuine.split(".")
    claims = claims_of(user)
    claims["user_id"] = str(other_user.pk)
    tampered = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    assert_refused(get_me(tampered))


def test_a_token_without_a_type_is_refused(user):
    claims = claims_of(user)
    del claims["token_type"]
    assert_refused(get_me(forge(claims)))


def test_a_refresh_token_is_not_an_access_token(user):
    assert_refused(get_me(str(RefreshToken.for_user(user))))


def test_an_access_token_cannot_refresh(user):
    access = str(RefreshToken.for_user(user).access_token)
    response = APIClient().post(REFRESH, {"refresh": access}, format="json")
    assert_refused(response)


def test_an_atm_token_cannot_refresh_nor_sign_in_as_a_customer(user, account):
    card = issue_test_card(account)
    signed_in = card_sign_in(card.number)
    assert signed_in.status_code == 200, signed_in.content
    session = signed_in.json()
    assert "refresh" not in session

    refreshed = APIClient().post(REFRESH, {"refresh": session["access"]}, format="json")
    assert_refused(refreshed)
    # A customer-only endpoint refuses an ATM session.
    assert_problem(get_me(session["access"]), 403, "permission_denied")


def lifetime_of(token) -> int:
    return token["exp"] - token["iat"]


def test_token_lifetimes_are_those_of_the_contract(user, account):
    refresh = RefreshToken.for_user(user)
    assert lifetime_of(refresh.access_token) == 5 * 60
    assert lifetime_of(refresh) == 24 * 60 * 60
    card = issue_test_card(account)
    session = card_sign_in(card.number)
    assert session.json()["expires_in"] == 2 * 60


def test_only_hs256_is_configured():
    assert settings.SIMPLE_JWT["ALGORITHM"] == "HS256"
    assert settings.SIMPLE_JWT["CHECK_REVOKE_TOKEN"] is True
