"""Usernames are NFKC-normalised before they are checked, and sign-in normalises the same way."""

import pytest

from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

REGISTER, TOKEN = "/api/v1/auth/register/", "/api/v1/auth/token/"
PASSWORD = "blue-otter-7431"


def fullwidth(text: str) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in text)


def register(client, username: str):
    return client.post(REGISTER, {"username": username, "password": PASSWORD}, format="json")


def test_a_fullwidth_twin_of_an_existing_name_is_taken(api_client):
    UserFactory(username="alice")
    response = register(api_client, fullwidth("alice"))
    assert response.status_code == 400, response.content
    assert response.json()["errors"]["username"] == ["This username is taken."]
    assert User.objects.count() == 1


def test_a_fullwidth_name_is_stored_normalised(api_client):
    response = register(api_client, fullwidth("bob"))
    assert response.status_code == 201, response.content
    assert response.json()["username"] == "bob"


def test_a_name_that_grows_past_150_characters_when_normalised_is_refused(api_client):
    # U+FB03 (the "ffi" ligature) is one character that NFKC turns into three.
    response = register(api_client, "\ufb03" * 60)
    assert response.status_code == 400, response.content
    assert "username" in response.json()["errors"]
    assert not User.objects.exists()


def test_sign_in_with_the_fullwidth_form_of_a_name_finds_the_user(api_client):
    UserFactory(username="carol")
    body = {"username": fullwidth("carol"), "password": DEFAULT_PASSWORD}
    assert api_client.post(TOKEN, body, format="json").status_code == 200
