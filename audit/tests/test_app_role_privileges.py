"""In production the application's database role does not own the audit tables (the grants of
docs/deployment.md), so even with its credentials the append-only triggers cannot be dropped."""

import uuid
from contextlib import contextmanager

import pytest
from django.db import DatabaseError, connection, transaction

from audit.services import account_chain, anchor_chains, record_event
from audit.verification import verify_chain

pytestmark = pytest.mark.django_db

# docs/deployment.md, "The audit trail's database role": what the application role gets.
APP_ROLE_GRANTS = [
    "GRANT SELECT, INSERT ON audit_auditevent TO {role}",
    "GRANT SELECT, INSERT, UPDATE ON audit_auditchain TO {role}",
]


@pytest.fixture
def app_role(requires_postgres):
    """A role like the one the application signs in as, created in the test's transaction (so
    rolled back with it), used through SET ROLE."""
    role = f"atm_app_{uuid.uuid4().hex[:12]}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
        for grant in APP_ROLE_GRANTS:
            cursor.execute(grant.format(role=role))
    return role


@contextmanager
def acting_as(role: str):
    """Statements inside run as `role`; a savepoint, so a refused one leaves the test usable."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL ROLE {role}")
            yield cursor
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET ROLE")


@pytest.mark.parametrize(
    "sql",
    [
        "DROP TRIGGER audit_event_append_only ON audit_auditevent",
        "DROP TRIGGER audit_chain_forward_only ON audit_auditchain",
        "ALTER TABLE audit_auditevent DISABLE TRIGGER ALL",
        "DELETE FROM audit_auditevent",
        "TRUNCATE audit_auditevent",
    ],
)
def test_the_app_role_cannot_remove_the_guards_nor_the_events(app_role, sql):
    record_event(action="test.event")
    with pytest.raises(DatabaseError), acting_as(app_role) as cursor:
        cursor.execute(sql)


def test_the_app_role_can_still_append_start_account_chains_and_anchor_them(app_role):
    record_event(action="test.first")
    with acting_as(app_role):
        event = record_event(action="test.as_app")
        first_of_account = record_event(action="test.money", chain=account_chain(1))
        anchored = anchor_chains()
    assert (event.seq, first_of_account.seq, anchored) == (2, 1, 1)
    assert verify_chain().ok
