"""`reconcile` cross-checks the ledger with the audit trail: a transaction inserted by hand,
balanced and with balances kept in step, passes every ledger check but has no audit event."""

import uuid
from decimal import Decimal

import pytest

from accounts.models import Account
from audit.services import account_chain, record_event
from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


def insert_balanced_transfer_by_hand(source: Account, target: Account, amount: Decimal):
    """What someone with write access to the tables could do, bypassing the services: both
    legs, summing to zero, and both balances kept in step with them."""
    txn = Transaction.objects.create(
        kind="transfer", amount=amount, currency="USD", account=source, counterparty=target
    )
    for account, signed in ((source, -amount), (target, amount)):
        account.refresh_from_db()
        Entry.objects.create(
            transaction=txn,
            account=account,
            amount=signed,
            balance_after=account.balance + signed,
            kind="transfer",
            created_at=txn.created_at,
        )
        Account.objects.filter(pk=account.pk).update(balance=account.balance + signed)
    return txn


def test_a_balanced_transaction_inserted_by_hand_is_found(account, other_account):
    forged = insert_balanced_transfer_by_hand(account, other_account, Decimal("50.00"))
    findings = reconcile().findings
    assert [(f.check, f.subject) for f in findings] == [("audit", f"transaction {forged.pk}")]


def test_a_money_event_on_another_accounts_chain_is_found(account, other_account):
    posted = Transaction.objects.get(account=account)
    event = record_event(
        action="money.deposit", target=posted, chain=account_chain(other_account.pk)
    )
    findings = reconcile().findings
    subject = f"audit event account:{other_account.pk} #{event.seq}"
    assert [(f.check, f.subject) for f in findings] == [("audit", subject)]
    assert f"whose account's chain is account:{account.pk}" in findings[0].detail


def test_a_money_event_without_its_transaction_is_found(account):
    missing = uuid.uuid4()
    event = record_event(
        action="money.deposit",
        object_type="transactions.transaction",
        object_id=missing,
        chain=account_chain(account.pk),
    )
    findings = reconcile().findings
    subject = f"audit event account:{account.pk} #{event.seq}"
    assert [(f.check, f.subject) for f in findings] == [("audit", subject)]
    assert str(missing) in findings[0].detail
