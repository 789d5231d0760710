"""A 404 for someone else's account costs the request what a 404 for a missing one costs: the
audit of the attempt is written after the response has been sent."""

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIRequestFactory, force_authenticate

from audit.models import AuditEvent
from transactions.api.views import AccountViewSet

pytestmark = pytest.mark.django_db


def unsent_response(user, number: str):
    """The view's answer before any WSGI server sent (and closed) it, and the SQL it ran."""
    request = APIRequestFactory().get(f"/api/v1/accounts/{number}/")
    force_authenticate(request, user=user)
    view = AccountViewSet.as_view({"get": "retrieve"})
    with CaptureQueriesContext(connection) as queries:
        response = view(request, number=number)
    return response, [query["sql"].split(" WHERE ")[0] for query in queries]


def sent(response) -> None:
    """What the WSGI server does once the answer is out: close the response. Its
    request_finished signal would also close the database connection, which the test still
    needs (Django's own test client holds it back the same way)."""
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)


def test_foreign_and_missing_accounts_cost_the_same_before_the_response(user, other_account):
    foreign, foreign_sql = unsent_response(user, other_account.number)
    missing, missing_sql = unsent_response(user, "1234567897")
    assert foreign.status_code == missing.status_code == 404
    assert foreign_sql == missing_sql
    assert not AuditEvent.objects.filter(action="access.denied").exists()

    sent(foreign)
    sent(missing)
    events = AuditEvent.objects.filter(action="access.denied")
    assert list(events.values_list("object_id", flat=True)) == [other_account.number]
