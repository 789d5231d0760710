"""Every admin URL, walked as each role: what it may see, and that it can change nothing it
may not. Models registered later are walked too (the list comes from the admin itself)."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Account, Card
from accounts.tests.factories import issue_test_card
from audit.roles import VIEWABLE_APPS
from backoffice import approvals
from backoffice.models import ApprovalRequest
from transactions import services as ledger
from transactions.models import Transaction
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

ROLES = ("teller", "supervisor", "auditor")
# What each role may do beyond viewing, per model (admin action names).
ACTIONS = {
    "teller": {
        Account: {"freeze", "unfreeze", "unblock_cards", "change_daily_limit"},
        Card: {"unblock"},
        Transaction: {"reverse", "export_csv"},
    },
    "auditor": {Transaction: {"export_csv"}},
}
ACTIONS["supervisor"] = {**ACTIONS["teller"], ApprovalRequest: {"approve", "reject"}}
EXPORTS = {"transactions.entry", "audit.auditevent"}


@pytest.fixture
def everything(account, teller, other_account, user):
    """At least one object of every model the admin shows."""
    issue_test_card(account)
    ledger.transfer(
        from_account=account.number,
        to_account=other_account.number,
        amount=Decimal("1.00"),
        actor=account.owner,
    )
    approvals.request_unfreeze(account_number=account.number, actor=teller, reason="walk")
    refresh = (
        APIClient()
        .post(
            "/api/v1/auth/token/",
            {"username": user.username, "password": DEFAULT_PASSWORD},
            format="json",
        )
        .json()["refresh"]
    )
    APIClient().post("/api/v1/auth/logout/", {"refresh": refresh}, format="json")


def _url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def _actions(page) -> set[str]:
    form = page.context["action_form"] if page.context else None
    return {name for name, _ in form.fields["action"].choices if name} if form else set()


@pytest.mark.parametrize("role", ROLES)
def test_every_admin_url_as_each_role(role, request, everything, staff_client):
    staff = request.getfixturevalue(role)
    client = staff_client(staff)
    assert client.get(reverse("admin:index")).status_code == 200
    walked = 0
    for model in admin.site._registry:
        label = model._meta.label_lower
        may_view = model._meta.app_label in VIEWABLE_APPS
        listing = client.get(_url(model, "changelist"))
        assert listing.status_code == (200 if may_view else 403), (role, label)
        # Nobody in a role adds anything, anywhere.
        assert client.get(_url(model, "add")).status_code == 403, (role, label)
        obj = model.objects.order_by("pk").first()
        if not may_view:
            continue
        expected = ACTIONS[role].get(model, set()) | ({"export_csv"} if label in EXPORTS else set())
        assert _actions(listing) == expected, (role, label)
        if obj is None:
            continue
        walked += 1
        change = _url(model, "change", obj.pk)
        page = client.get(change)
        assert page.status_code == 200, (role, label)
        assert b'name="_save"' not in page.content, (role, label)  # view only
        assert client.post(change, {}).status_code == 403, (role, label)
        assert client.post(_url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
        assert model.objects.filter(pk=obj.pk).exists()
    assert walked >= 7  # users, accounts, cards, transactions, entries, events, requests


def test_the_index_shows_each_role_only_its_apps(everything, auditor, staff_client):
    html = staff_client(auditor).get(reverse("admin:index")).content.decode()
    assert "Audit trail" in html and "Back office" in html
    assert "Groups" not in html and "Blacklisted tokens" not in html
