"""The back office in the admin: four eyes, named actors, the account page, searches, exports."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import CASH_SUBACCOUNTS, Account
from accounts.services import freeze_account
from accounts.tests.factories import issue_test_card
from atm_project.testing.ledger import cash_subaccount_of
from audit.models import AuditEvent
from backoffice.models import ApprovalRequest
from transactions import services as ledger
from transactions.models import Entry, Hold, Transaction
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def run_action(client, model, action: str, objects, **form):
    data = {"action": action, "_selected_action": [str(obj.pk) for obj in objects], **form}
    return client.post(changelist(model), data)


# ---------------------------------------------------------------- four eyes from the admin


def test_the_admin_files_and_a_different_supervisor_approves(
    account, teller, supervisor, staff_client
):
    freeze_account(number=account.number, actor=teller, reason="fraud report")
    filed = run_action(
        staff_client(teller), Account, "unfreeze", [account], apply="1", reason="Customer called"
    )
    assert filed.status_code == 302
    request = ApprovalRequest.objects.get()
    account.refresh_from_db()
    assert account.status == "frozen"

    # The pending request shows who asked, when and why.
    page = staff_client(supervisor).get(changelist(ApprovalRequest)).content.decode()
    assert "Customer called" in page and "teller" in page and "Pending" in page

    own = run_action(
        staff_client(teller), ApprovalRequest, "approve", [request], apply="1", reason="ok"
    )
    assert own.status_code == 200  # a teller does not even have the action
    approved = run_action(
        staff_client(supervisor),
        ApprovalRequest,
        "approve",
        [request],
        apply="1",
        reason="verified",
        confirm="on",
    )
    assert approved.status_code == 302
    account.refresh_from_db()
    assert account.status == "active"
    assert ApprovalRequest.objects.get().decided_by == supervisor


def test_the_admin_refuses_approving_ones_own_request(account, supervisor, staff_client):
    client = staff_client(supervisor)
    run_action(
        client,
        Account,
        "change_daily_limit",
        [account],
        apply="1",
        reason="Customer travels",
        limit="2500.00",
    )
    request = ApprovalRequest.objects.get()
    assert request.new_daily_limit == Decimal("2500.00")
    response = run_action(
        client, ApprovalRequest, "approve", [request], apply="1", reason="x", confirm="on"
    )
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("a different supervisor must decide it" in m for m in messages)
    account.refresh_from_db()
    assert account.daily_withdrawal_limit == Decimal("1000.00")
    assert ApprovalRequest.objects.get().status == "pending"


# ---------------------------------------------------------------- named actors


def test_a_groups_permissions_changed_in_the_admin_are_audited(superuser, roles, staff_client):
    auditors = roles["Auditors"]
    reverse_perm = Permission.objects.get(codename="decide_request")
    kept = list(auditors.permissions.values_list("pk", flat=True))
    url = reverse("admin:auth_group_change", args=[auditors.pk])
    response = staff_client(superuser).post(
        url, {"name": "Auditors", "permissions": [*map(str, kept), str(reverse_perm.pk)]}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="admin.change", object_type="auth.group")
    assert event.actor == superuser
    change = event.data["fields"]["permissions"]
    added = set(change["to"]) - set(change["from"])
    assert added == {str(reverse_perm)}


def test_adding_and_deleting_a_group_in_the_admin_are_audited(superuser, staff_client):
    client = staff_client(superuser)
    client.post(reverse("admin:auth_group_add"), {"name": "Night shift"})
    group = Group.objects.get(name="Night shift")
    added = AuditEvent.objects.get(action="admin.add", object_type="auth.group")
    assert (added.actor, added.object_id) == (superuser, str(group.pk))
    client.post(reverse("admin:auth_group_delete", args=[group.pk]), {"post": "yes"})
    assert not Group.objects.filter(pk=group.pk).exists()
    deleted = AuditEvent.objects.get(action="admin.delete", object_type="auth.group")
    assert deleted.data == {"was": "Night shift"}


@pytest.mark.parametrize("model", [OutstandingToken, BlacklistedToken, Transaction, Entry])
def test_history_and_credentials_are_not_editable_even_by_a_superuser(
    model, superuser, staff_client, user
):
    from django.contrib import admin

    model_admin = admin.site._registry[model]
    request = type("R", (), {"user": superuser, "method": "POST"})()
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert not model_admin.has_add_permission(request)


def test_a_blacklisted_token_cannot_be_deleted_through_the_admin(superuser, staff_client, user):
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
    blacklisted = BlacklistedToken.objects.get()
    url = reverse("admin:token_blacklist_blacklistedtoken_delete", args=[blacklisted.pk])
    assert staff_client(superuser).post(url, {"post": "yes"}).status_code == 403
    assert BlacklistedToken.objects.filter(pk=blacklisted.pk).exists()


def test_a_password_set_in_the_admin_revokes_the_users_refresh_tokens(
    superuser, staff_client, user
):
    api = APIClient()
    tokens = api.post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
    ).json()
    url = reverse("admin:auth_user_password_change", args=[user.pk])
    new = "fresh-secret-5581"
    response = staff_client(superuser).post(url, {"password1": new, "password2": new})
    assert response.status_code == 302
    refreshed = api.post(
        "/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json"
    )
    assert refreshed.status_code == 401
    event = AuditEvent.objects.get(action="auth.password_set_by_staff")
    assert (event.actor, event.data["sessions_ended"]) == (superuser, 1)
    change = AuditEvent.objects.get(action="admin.change", object_id=str(user.pk))
    assert new not in json.dumps(change.data)


# ---------------------------------------------------------------- the account page


@pytest.fixture
def busy_account(account, teller, other_account):
    card = issue_test_card(account)
    ledger.transfer(
        from_account=account.number,
        to_account=other_account.number,
        amount=Decimal("12.50"),
        actor=account.owner,
    )
    freeze_account(number=account.number, actor=teller, reason="Skimmer at branch 7")
    account.refresh_from_db()
    return account, card


def test_the_account_page_tells_the_accounts_story(busy_account, auditor, staff_client):
    account, card = busy_account
    page = staff_client(auditor).get(reverse("admin:accounts_account_change", args=[account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Frozen" in html and "frozen by <strong>teller</strong>" in html
    assert "Skimmer at branch 7" in html
    assert card.masked_number in html and card.number not in html
    assert "-12.50" in html  # newest entries
    assert f"?account__id__exact={account.pk}" in html  # all entries, filtered
    assert "account.frozen" in html  # its audit events
    assert reverse("admin:accounts_account_statement", args=[account.pk]) in html


def test_the_account_page_shows_its_pending_holds_and_not_expired_ones(
    account, auditor, staff_client
):
    pending = ledger.create_hold(
        account_number=account.number, amount=Decimal("40.00"), actor=account.owner
    )
    expired = ledger.create_hold(
        account_number=account.number, amount=Decimal("25.00"), actor=account.owner
    )
    # Its expiry has passed (moved back in time, creation with it, as the constraint wants).
    past = timezone.now() - timedelta(minutes=10)
    Hold.objects.filter(pk=expired.pk).update(
        created_at=past, expires_at=past + timedelta(seconds=30)
    )
    page = staff_client(auditor).get(reverse("admin:accounts_account_change", args=[account.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert reverse("admin:transactions_hold_change", args=[pending.pk]) in html
    assert "40.00 USD" in html
    assert reverse("admin:transactions_hold_change", args=[expired.pk]) not in html


def test_the_banks_cash_position_is_the_sum_of_its_sub_accounts(
    account, other_account, account_factory, auditor, staff_client
):
    """Funding deposits of 500.00 and 300.00 and a withdrawal of 50.00 land on the cash
    sub-accounts of three shards; the list and each sub-account's page show the whole."""
    third = account_factory()
    ledger.withdraw(account_number=account.number, amount=Decimal("50"), actor=account.owner)
    ledger.deposit(account_number=third.number, amount=Decimal("0.25"), actor=third.owner)
    assert len({cash_subaccount_of(a).pk for a in (account, other_account, third)}) == 3
    client = staff_client(auditor)
    listed = client.get(changelist(Account)).content.decode()
    assert "<strong>-750.25 USD</strong>" in listed
    cash = cash_subaccount_of(account)
    page = client.get(reverse("admin:accounts_account_change", args=[cash.pk])).content.decode()
    assert f"Cash sub-account {cash.cash_shard} of {CASH_SUBACCOUNTS} in USD" in page
    assert "<strong>-750.25 USD</strong>" in page
    customer_page = client.get(reverse("admin:accounts_account_change", args=[account.pk]))
    assert "Bank cash" not in customer_page.content.decode()


def test_the_statement_downloads_as_csv(busy_account, auditor, staff_client):
    account, _ = busy_account
    today = Entry.objects.filter(account=account).latest("id").created_at.date().isoformat()
    url = reverse("admin:accounts_account_statement", args=[account.pk])
    response = staff_client(auditor).get(url, {"from": today, "to": today})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/csv"
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1 + Entry.objects.filter(account=account).count()
    bad = staff_client(auditor).get(url, {"from": "2026-02-30", "to": today})
    assert bad.status_code == 302  # back to the page, with the reason


def _found(client, model, term) -> list:
    response = client.get(changelist(model), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_audit_events_are_found_by_account_number_card_transaction_and_username(
    busy_account, auditor, staff_client
):
    account, card = busy_account
    client = staff_client(auditor)
    transfer = Transaction.objects.get(kind="transfer")
    by_number = {event.action for event in _found(client, AuditEvent, account.number)}
    assert {"account.opened", "account.frozen", "money.transfer"} <= by_number
    assert "card.issued" in {event.action for event in _found(client, AuditEvent, card.number[-4:])}
    by_id = _found(client, AuditEvent, str(transfer.pk)[:8])
    assert [event.action for event in by_id] == ["money.transfer"]
    by_user = {event.action for event in _found(client, AuditEvent, "teller")}
    assert "account.frozen" in by_user
    # Each event links to the object it names.
    html = client.get(changelist(AuditEvent), {"q": account.number}).content.decode()
    assert reverse("admin:accounts_account_change", args=[account.pk]) in html


def test_transactions_are_found_by_the_start_of_their_id(busy_account, auditor, staff_client):
    transfer = Transaction.objects.get(kind="transfer")
    client = staff_client(auditor)
    # The shortest start of at least 6 characters that is not all digits (an all-digit term is
    # searched as an account number): by the 9th, the id's first hyphen, it never is.
    start = next(str(transfer.pk)[:n] for n in range(6, 10) if not str(transfer.pk)[:n].isdigit())
    for term in (start, str(transfer.pk)[:13], str(transfer.pk).upper()):
        assert transfer in _found(client, Transaction, term), term
    assert _found(client, Transaction, "ffffffff-ffff") == []


@pytest.mark.parametrize(("model", "header"), [(Transaction, "id,created_at,kind"), (Entry, "id")])
def test_transactions_and_entries_export_as_streamed_csv(
    model, header, busy_account, auditor, staff_client
):
    rows = list(model.objects.all())
    response = run_action(staff_client(auditor), model, "export_csv", rows)
    assert response.status_code == 200 and response.streaming
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith(header)
    assert len(lines) == 1 + len(rows)
    assert AuditEvent.objects.filter(action="admin.export_csv", actor__username="auditor").exists()
