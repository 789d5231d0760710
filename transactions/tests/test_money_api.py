from decimal import Decimal

import pytest

from transactions.models import Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


def test_deposit_adds_to_the_balance_and_answers_the_transaction(auth_client, account):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", {"amount": "100.25"}, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "deposit"
    assert body["amount"] == "100.25"
    assert body["balance_after"] == "600.25"
    assert body["account_number"] == account.number
    account.refresh_from_db()
    assert account.balance == Decimal("600.25")
    assert reconcile().clean


def test_withdraw_more_than_balance_is_refused_and_moves_nothing(auth_client, account):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw", {"amount": "500.01"}, format="json"
    )
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "insufficient_funds"
    account.refresh_from_db()
    assert account.balance == Decimal("500.00")


def test_transfer_moves_money_between_accounts(auth_client, account, other_account):
    response = auth_client.post(
        "/api/v1/transfers/",
        {"from_account": account.number, "to_account": other_account.number, "amount": 50},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["from_account"], body["to_account"]) == (account.number, other_account.number)
    assert body["balance_after"] == "450.00"
    other_account.refresh_from_db()
    assert other_account.balance == Decimal("350.00")
    assert Transaction.objects.get(pk=body["id"]).entries.count() == 2
    assert reconcile().clean
