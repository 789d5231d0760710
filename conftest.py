"""Fixtures shared by every app's tests."""

import uuid
from contextlib import ExitStack

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from accounts.tests.factories import AccountFactory
from atm_project.testing.clients import bearer_client
from atm_project.testing.live_server import LiveServer, run_gunicorn, sqlite_database_url
from users.tests.factories import UserFactory

# Chromium and the live demo site for every app's browser tests; staff users of each role.
pytest_plugins = ["atm_project.testing.browser", "atm_project.testing.staff"]


@pytest.fixture(autouse=True)
def _fresh_rate_limits(request, django_db_blocker):
    """Rate-limit counters live in the shared cache, which outlives a test that commits (or is
    Redis): clear it after every database test, so only tests about throttles meet one."""
    yield
    uses_db = request.node.get_closest_marker("django_db") or {
        "db",
        "transactional_db",
    } & set(request.fixturenames)
    if uses_db:
        # After the test, the connection still points at the test database (session-scoped).
        with django_db_blocker.unblock():
            cache.clear()


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


@pytest.fixture
def gunicorn_server(tmp_path):
    """Start real gunicorn servers: `gunicorn_server(database_url=..., workers=4, env={...})`
    returns a running LiveServer (atm_project/testing/live_server.py); all stop after the test.
    Without database_url each server gets a fresh migrated SQLite file in tmp_path."""
    with ExitStack() as servers:

        def start(*, database_url: str | None = None, **options) -> LiveServer:
            if database_url is None:
                database_url = sqlite_database_url(tmp_path, f"server-{uuid.uuid4().hex}.sqlite3")
            return servers.enter_context(
                run_gunicorn(database_url=database_url, log_dir=tmp_path, **options)
            )

        yield start
