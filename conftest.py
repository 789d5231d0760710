"""Fixtures shared by every app's tests."""

import pytest
from django.db import connection
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.tests.factories import AccountFactory
from users.tests.factories import UserFactory


def bearer_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}")
    return client


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def other_user(db):
    return UserFactory()


@pytest.fixture
def client_for():
    """A JSON API client signed in as the given user."""
    return bearer_client


@pytest.fixture
def auth_client(user) -> APIClient:
    return bearer_client(user)


@pytest.fixture
def account_factory(db):
    return AccountFactory


@pytest.fixture
def account(user):
    return AccountFactory(owner=user, balance="500.00")


@pytest.fixture
def other_account(other_user):
    return AccountFactory(owner=other_user, balance="300.00")


@pytest.fixture
def requires_postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL row locks: run with DATABASE_URL=postgres://...")
