"""A refresh token is used at most once, a sign-out wins against a racing refresh, and a
session ends SESSION_MAX_AGE after sign-in. The races run in real threads on PostgreSQL."""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from atm_project.testing.racing import race
from users.models import SignInSession
from users.tests.factories import DEFAULT_PASSWORD

TOKEN, REFRESH, LOGOUT = (
    "/api/v1/auth/token/",
    "/api/v1/auth/token/refresh/",
    "/api/v1/auth/logout/",
)


def sign_in(user) -> dict:
    body = {"username": user.username, "password": DEFAULT_PASSWORD}
    response = APIClient().post(TOKEN, body, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def refresh(token: str):
    return APIClient().post(REFRESH, {"refresh": token}, format="json")


def logout(token: str):
    return APIClient().post(LOGOUT, {"refresh": token}, format="json")


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_refreshes_of_one_token_give_exactly_one_successor(requires_postgres, user):
    tokens = sign_in(user)
    responses = race(8, lambda _: refresh(tokens["refresh"]), return_exceptions=True)
    winners = [r for r in responses if r.status_code == 200]
    assert sorted(r.status_code for r in responses) == [200] + [401] * 7
    successor = winners[0].json()["refresh"]
    assert refresh(successor).status_code == 200


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_a_logout_racing_a_refresh_leaves_no_usable_refresh_token(
    requires_postgres, user, settings
):
    settings.RATELIMIT_ENABLE = False  # six sign-ins of one user within a minute
    for _ in range(6):
        token = sign_in(user)["refresh"]
        logged_out, refreshed = race(
            2, lambda i, token=token: (logout, refresh)[i](token), return_exceptions=True
        )
        assert logged_out.status_code in (204, 401), logged_out.content
        assert refresh(token).status_code == 401
        if refreshed.status_code == 200:
            # The refresh won the race: its successor belongs to the ended session.
            assert refresh(refreshed.json()["refresh"]).status_code == 401
        else:
            assert refreshed.status_code == 401


@pytest.mark.django_db
def test_logout_with_an_already_rotated_token_ends_the_session_of_its_successor(user):
    first = sign_in(user)["refresh"]
    second = refresh(first).json()["refresh"]
    assert logout(first).status_code == 401  # that token no longer works...
    assert refresh(second).status_code == 401  # ...and neither does anything of its session


@pytest.mark.django_db
def test_a_session_ends_at_session_max_age_however_often_refreshed(user, settings):
    settings.SESSION_MAX_AGE = 3600
    token = sign_in(user)["refresh"]
    for _ in range(3):
        token = refresh(token).json()["refresh"]
    session = SignInSession.objects.get(user=user)
    SignInSession.objects.filter(pk=session.pk).update(
        started_at=timezone.now() - timedelta(seconds=3601)
    )
    response = refresh(token)
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "authentication_failed"


@pytest.mark.django_db
def test_a_successor_never_outlives_its_session(user, settings):
    settings.SESSION_MAX_AGE = 24 * 3600
    token = sign_in(user)["refresh"]
    session = SignInSession.objects.get(user=user)
    started = timezone.now() - timedelta(hours=23)
    SignInSession.objects.filter(pk=session.pk).update(started_at=started)
    successor = refresh(token).json()["refresh"]
    session_end = started + timedelta(hours=24)
    assert claims(successor)["exp"] <= session_end.timestamp() + 1


@pytest.mark.django_db
def test_a_password_change_ends_every_session(user, client_for):
    token = sign_in(user)["refresh"]
    body = {"old_password": DEFAULT_PASSWORD, "new_password": "another-long-pass-9173"}
    assert (
        client_for(user).post("/api/v1/auth/password/change/", body, format="json").status_code
        == 204
    )
    assert SignInSession.objects.get(user=user).ended_at is not None
    assert refresh(token).status_code == 401
