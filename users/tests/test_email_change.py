"""Changing the email needs the current password, is audited, and tells the old address."""

import pytest
from django.core import mail

from audit.models import AuditEvent
from users.mail import wait_for_outgoing_mail
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/users/me/"


def patch_me(client, body, capture):
    with capture(execute=True):
        response = client.patch(ME, body, format="json")
    wait_for_outgoing_mail()
    return response


def test_an_email_change_without_the_current_password_is_400(
    auth_client, user, django_capture_on_commit_callbacks
):
    response = patch_me(
        auth_client, {"email": "thief@example.com"}, django_capture_on_commit_callbacks
    )
    assert response.status_code == 400, response.content
    assert set(response.json()["errors"]) == {"current_password"}
    user.refresh_from_db()
    assert user.email != "thief@example.com"
    assert mail.outbox == []


def test_an_email_change_with_a_wrong_password_is_401(
    auth_client, user, django_capture_on_commit_callbacks
):
    body = {"email": "thief@example.com", "current_password": "not-the-password"}
    response = patch_me(auth_client, body, django_capture_on_commit_callbacks)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "authentication_failed"
    user.refresh_from_db()
    assert user.email != "thief@example.com"


def test_an_email_change_is_audited_and_the_old_address_is_told(
    auth_client, user, django_capture_on_commit_callbacks
):
    old_email = user.email
    body = {"email": "new@example.com", "current_password": DEFAULT_PASSWORD}
    response = patch_me(auth_client, body, django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    assert response.json()["email"] == "new@example.com"
    assert "current_password" not in response.json()
    event = AuditEvent.objects.get(action="auth.email_changed")
    assert event.actor_id == user.pk
    assert event.data == {"old_email": old_email, "new_email": "new@example.com"}
    assert [message.to for message in mail.outbox] == [[old_email]]
    assert "new@example.com" in mail.outbox[0].body


def test_names_change_without_a_password_and_the_same_email_needs_none(
    auth_client, user, django_capture_on_commit_callbacks
):
    body = {"first_name": "Ada", "email": user.email}
    response = patch_me(auth_client, body, django_capture_on_commit_callbacks)
    assert response.status_code == 200, response.content
    assert response.json()["first_name"] == "Ada"
    assert not AuditEvent.objects.filter(action="auth.email_changed").exists()
    assert mail.outbox == []


def test_guessing_the_current_password_is_rate_limited(auth_client):
    body = {"email": "thief@example.com", "current_password": "guess"}
    statuses = [auth_client.patch(ME, body, format="json").status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    # Reading the profile is not counted.
    assert auth_client.get(ME).status_code == 200
