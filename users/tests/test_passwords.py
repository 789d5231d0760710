"""The password lifecycle: hashing, change, reset (OWASP API2, broken authentication)."""

import re
from datetime import datetime, timedelta
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from atm_project import settings as production
from atm_project.testing.clients import sign_in, token_client
from atm_project.testing.problems import assert_problem
from users.mail import wait_for_outgoing_mail
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
REFRESH = "/api/v1/auth/token/refresh/"
ME = "/api/v1/users/me/"
CHANGE = "/api/v1/auth/password/change/"
RESET = "/api/v1/auth/password/reset/"
CONFIRM = "/api/v1/auth/password/reset/confirm/"
NEW_PASSWORD = "blue-otter-7431"


def refresh(refresh_token: str):
    return APIClient().post(REFRESH, {"refresh": refresh_token}, format="json")


def assert_refresh_works(refresh_token: str) -> None:
    response = refresh(refresh_token)
    assert response.status_code == 200, response.content


def assert_refresh_refused(refresh_token: str) -> None:
    assert_problem(refresh(refresh_token), 401, "authentication_failed")


# --- hashing ------------------------------------------------------------------------------------


def test_production_hashes_new_passwords_with_argon2(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    assert make_password("blue-otter-7431").startswith("argon2$")


def test_an_old_pbkdf2_hash_signs_in_and_is_upgraded_to_argon2(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = UserFactory()
    User.objects.filter(pk=user.pk).update(
        password=make_password(NEW_PASSWORD, hasher="pbkdf2_sha256")
    )

    tokens = sign_in(user.username, NEW_PASSWORD)

    user.refresh_from_db()
    assert user.password.startswith("argon2$")
    assert user.check_password(NEW_PASSWORD)
    # The token was issued after the upgrade, so it is valid under the new hash.
    assert token_client(tokens["access"]).get(ME).status_code == 200


def test_validators_require_10_characters(api_client):
    response = api_client.post(
        "/api/v1/auth/register/",
        {"username": "shorty", "password": "otter-743"},
        format="json",
    )
    body = assert_problem(response, 400, "validation_error")
    assert any("10 characters" in message for message in body["errors"]["password"])


# --- change -------------------------------------------------------------------------------------


def test_password_change_revokes_every_refresh_and_access_token(user):
    first, second = sign_in(user.username), sign_in(user.username)

    response = token_client(first["access"]).post(
        CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )

    assert response.status_code == 204, response.content
    assert_refresh_refused(first["refresh"])
    assert_refresh_refused(second["refresh"])
    # Access tokens carry a hash of the old password hash: they die at once too.
    assert_problem(token_client(second["access"]).get(ME), 401, "authentication_failed")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    fresh = sign_in(user.username, NEW_PASSWORD)
    assert token_client(fresh["access"]).get(ME).status_code == 200
    assert_refresh_works(fresh["refresh"])


def test_an_access_token_from_before_a_password_change_cannot_move_money(user, account_factory):
    source = account_factory(owner=user, balance="100.00")
    target = account_factory(owner=user)
    stolen = sign_in(user.username)["access"]
    changed = token_client(sign_in(user.username)["access"]).post(
        CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert changed.status_code == 204

    response = token_client(stolen).post(
        "/api/v1/transfers/",
        {"from_account": source.number, "to_account": target.number, "amount": "60.00"},
        format="json",
    )

    assert_problem(response, 401, "authentication_failed")
    source.refresh_from_db()
    assert source.balance == Decimal("100.00")


def test_password_change_with_a_wrong_old_password_is_400_and_changes_nothing(user, auth_client):
    tokens = sign_in(user.username)
    response = auth_client.post(
        CHANGE, {"old_password": "not-my-password", "new_password": NEW_PASSWORD}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "old_password" in body["errors"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert_refresh_works(tokens["refresh"])


@pytest.mark.parametrize("weak", ["short-1", "1234567890123", "password1234"])
def test_password_change_applies_the_validators(user, auth_client, weak):
    response = auth_client.post(
        CHANGE, {"old_password": DEFAULT_PASSWORD, "new_password": weak}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert body["errors"]["new_password"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_password_change_needs_a_customer_token(api_client):
    body = {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD}
    assert_problem(api_client.post(CHANGE, body, format="json"), 401, "not_authenticated")


# --- reset --------------------------------------------------------------------------------------


def request_reset(email: str, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(RESET, {"email": email}, format="json")
    wait_for_outgoing_mail()
    return response


def link_in(message) -> tuple[str, str]:
    link = re.search(r"https?://\S+", message.body).group(0)
    # uid and token travel in the fragment, which browsers never send to a server.
    query = parse_qs(urlsplit(link).fragment)
    return query["uid"][0], query["token"][0]


def test_reset_answers_the_same_whether_or_not_the_email_exists(
    user, django_capture_on_commit_callbacks
):
    known = request_reset(user.email, django_capture_on_commit_callbacks)
    unknown = request_reset("nobody@example.com", django_capture_on_commit_callbacks)

    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content
    assert known["Content-Type"] == unknown["Content-Type"]
    assert [message.to for message in mail.outbox] == [[user.email]]


def test_reset_costs_the_same_queries_and_sends_off_the_request_path(user, settings):
    """Timing: both paths run the same SQL, and the email is sent by a background thread after
    the commit, never inside the request (an SMTP round trip would give a customer away)."""
    settings.RATELIMIT_ENABLE = False  # the rate-limit counter's own statements vary by call
    costs = []
    for email in (user.email, "nobody@example.com"):
        with CaptureQueriesContext(connection) as queries:
            response = APIClient().post(RESET, {"email": email}, format="json")
        assert response.status_code == 202
        costs.append([query["sql"].replace(email, "?") for query in queries])
    assert costs[0] == costs[1]
    # Inside the test's transaction the on-commit send never ran: nothing was sent in-request.
    assert mail.outbox == []


def test_reset_email_matches_case_insensitively_and_skips_inactive_users(
    django_capture_on_commit_callbacks,
):
    active = UserFactory(email="Mixed.Case@Example.com")
    UserFactory(email="mixed.case@example.com", is_active=False)
    request_reset("mixed.case@EXAMPLE.com", django_capture_on_commit_callbacks)
    assert [message.to for message in mail.outbox] == [[active.email]]


def test_reset_link_sets_a_new_password_once_and_revokes_sessions(
    user, django_capture_on_commit_callbacks
):
    tokens = sign_in(user.username)
    request_reset(user.email, django_capture_on_commit_callbacks)
    uid, token = link_in(mail.outbox[0])

    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    response = APIClient().post(CONFIRM, body, format="json")

    assert response.status_code == 204, response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert_refresh_refused(tokens["refresh"])
    assert_problem(token_client(tokens["access"]).get(ME), 401, "authentication_failed")
    # The token hashed the old password: the same link cannot be used again.
    again = {"uid": uid, "token": token, "new_password": "green-heron-2468"}
    reused = APIClient().post(CONFIRM, again, format="json")
    assert "token" in assert_problem(reused, 400, "validation_error")["errors"]


def test_reset_confirm_applies_the_validators(user, django_capture_on_commit_callbacks):
    request_reset(user.email, django_capture_on_commit_callbacks)
    uid, token = link_in(mail.outbox[0])
    body = {"uid": uid, "token": token, "new_password": "short"}
    response = APIClient().post(CONFIRM, body, format="json")
    assert "new_password" in assert_problem(response, 400, "validation_error")["errors"]
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


@pytest.mark.parametrize(
    ("uid", "token"),
    [
        ("MQ", "bad-token"),
        ("!!!", "bad-token"),
        ("OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5", "bad-token"),
        ("", ""),
    ],
)
def test_reset_confirm_with_a_bad_link_is_400(user, uid, token):
    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    response = APIClient().post(CONFIRM, body, format="json")
    assert_problem(response, 400, "validation_error")
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_reset_link_expires(user, settings, django_capture_on_commit_callbacks, monkeypatch):
    request_reset(user.email, django_capture_on_commit_callbacks)
    uid, token = link_in(mail.outbox[0])
    later = datetime.now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    # Django's token generator reads the clock through this one method.
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)
    body = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    response = APIClient().post(CONFIRM, body, format="json")
    assert "token" in assert_problem(response, 400, "validation_error")["errors"]


def test_outstanding_tokens_are_recorded_for_revocation(user):
    sign_in(user.username)
    assert OutstandingToken.objects.filter(user=user).count() == 1
