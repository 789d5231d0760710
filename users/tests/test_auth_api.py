"""Auth endpoints (docs/api.md "Authentication"): register, token, refresh (rotation +
blacklist), logout, users/me."""

import pytest
from django.contrib.auth import get_user_model

from atm_project.testing.clients import sign_in
from atm_project.testing.problems import assert_problem
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

User = get_user_model()
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
REFRESH = "/api/v1/auth/token/refresh/"
LOGOUT = "/api/v1/auth/logout/"
ME = "/api/v1/users/me/"


def test_register_creates_a_user_who_can_sign_in(api_client):
    response = api_client.post(
        REGISTER,
        {
            "username": "alice",
            "password": "blue-otter-7431",
            "email": "alice@example.com",
            "first_name": "Alice",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    alice = User.objects.get(username="alice")
    assert body == {"id": alice.pk, "username": "alice", "email": "alice@example.com"}
    assert alice.first_name == "Alice"
    assert alice.check_password("blue-otter-7431")
    assert not alice.is_staff
    tokens = api_client.post(
        TOKEN, {"username": "alice", "password": "blue-otter-7431"}, format="json"
    )
    assert tokens.status_code == 200


def test_register_never_returns_or_stores_the_plain_password(api_client):
    response = api_client.post(
        REGISTER, {"username": "bob", "password": "blue-otter-7431"}, format="json"
    )
    assert response.status_code == 201
    assert "blue-otter-7431" not in response.content.decode()
    assert User.objects.get(username="bob").password != "blue-otter-7431"


def test_register_with_a_taken_username_is_400(api_client, user):
    response = api_client.post(
        REGISTER, {"username": user.username, "password": "blue-otter-7431"}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "username" in body["errors"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"password": "blue-otter-7431"}, "username"),
        ({"username": "carol"}, "password"),
        ({"username": "carol", "password": "short"}, "password"),
        ({"username": "carol", "password": "12345678901"}, "password"),
        ({"username": "carol", "password": "password123"}, "password"),
        ({"username": "carolinexyz", "password": "carolinexyz1"}, "password"),
        ({"username": "bad name!", "password": "blue-otter-7431"}, "username"),
        ({"username": "carol", "password": "blue-otter-7431", "email": "nope"}, "email"),
    ],
)
def test_register_with_bad_fields_is_400_naming_the_field(api_client, payload, field):
    response = api_client.post(REGISTER, payload, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]
    assert not User.objects.exists()


def test_token_returns_an_access_and_a_refresh_token_that_work(api_client, user):
    tokens = sign_in(user.username)
    assert set(tokens) == {"access", "refresh"}
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.get(ME).json()["username"] == user.username


@pytest.mark.parametrize(
    "credentials",
    [
        {"username": "customer-unknown", "password": DEFAULT_PASSWORD},
        {"username": None, "password": "wrong-password-1"},
    ],
)
def test_token_with_wrong_credentials_is_401(api_client, user, credentials):
    credentials = {**credentials, "username": credentials["username"] or user.username}
    response = api_client.post(TOKEN, credentials, format="json")
    assert_problem(response, 401, "authentication_failed")


def test_token_for_an_inactive_user_is_401(api_client, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = api_client.post(
        TOKEN, {"username": user.username, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert_problem(response, 401, "authentication_failed")


def test_refresh_rotates_and_blacklists_the_old_refresh_token(api_client, user):
    first = sign_in(user.username)
    response = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]

    replay = api_client.post(REFRESH, {"refresh": first["refresh"]}, format="json")
    assert_problem(replay, 401, "authentication_failed")

    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {second['access']}")
    assert api_client.get(ME).status_code == 200
    again = api_client.post(REFRESH, {"refresh": second["refresh"]}, format="json")
    assert again.status_code == 200


@pytest.mark.parametrize(
    ("refresh", "status", "code"),
    [("garbage", 401, "authentication_failed"), ("", 400, "validation_error")],
    ids=["garbage", ""],
)
def test_refresh_with_a_bad_token_is_refused(api_client, refresh, status, code):
    response = api_client.post(REFRESH, {"refresh": refresh}, format="json")
    assert_problem(response, status, code)


def test_an_access_token_is_not_a_refresh_token(api_client, user):
    tokens = sign_in(user.username)
    response = api_client.post(REFRESH, {"refresh": tokens["access"]}, format="json")
    assert_problem(response, 401, "authentication_failed")


def test_logout_blacklists_the_refresh_token(api_client, user):
    tokens = sign_in(user.username)
    response = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert response.status_code == 204
    assert response.content == b""
    refused = api_client.post(REFRESH, {"refresh": tokens["refresh"]}, format="json")
    assert_problem(refused, 401, "authentication_failed")
    twice = api_client.post(LOGOUT, {"refresh": tokens["refresh"]}, format="json")
    assert_problem(twice, 401, "authentication_failed")


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [({}, 400, "validation_error"), ({"refresh": "garbage"}, 401, "authentication_failed")],
    ids=["payload0-400", "payload1-401"],
)
def test_logout_without_a_valid_refresh_token_is_refused(api_client, payload, status, code):
    response = api_client.post(LOGOUT, payload, format="json")
    assert_problem(response, status, code)


def test_me_shows_the_callers_profile(auth_client, user):
    response = auth_client.get(ME)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "username", "email", "first_name", "last_name", "date_joined"}
    assert (body["id"], body["username"], body["email"]) == (user.pk, user.username, user.email)
    assert body["date_joined"].endswith(("Z", "+00:00"))


def test_me_patch_changes_email_and_names_only(auth_client, user):
    response = auth_client.patch(
        ME,
        {
            "email": "new@example.com",
            "current_password": DEFAULT_PASSWORD,
            "first_name": "Ada",
            "last_name": "Lovelace",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["email"], body["first_name"], body["last_name"]) == (
        "new@example.com",
        "Ada",
        "Lovelace",
    )


@pytest.mark.parametrize(
    "field",
    ["username", "is_staff", "is_superuser", "is_active", "id", "date_joined", "password"],
)
def test_me_patch_refuses_any_other_field_and_changes_nothing(auth_client, user, field):
    before = User.objects.values().get(pk=user.pk)
    response = auth_client.patch(ME, {"first_name": "Ada", field: "x"}, format="json")
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"] == {field: ["Unknown field: this operation does not take it."]}
    assert User.objects.values().get(pk=user.pk) == before


def test_me_patch_with_a_bad_email_is_400(auth_client):
    response = auth_client.patch(ME, {"email": "not-an-email"}, format="json")
    body = assert_problem(response, 400, "validation_error")
    assert "email" in body["errors"]


@pytest.mark.parametrize("method", ["put", "delete", "post"])
def test_me_refuses_other_methods(auth_client, method):
    response = getattr(auth_client, method)(ME, {}, format="json")
    assert_problem(response, 405, "method_not_allowed")


def test_me_without_a_token_is_401(api_client):
    response = api_client.get(ME)
    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Bearer")
