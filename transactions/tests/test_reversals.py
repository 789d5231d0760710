"""Reversals: the only way to correct the ledger, once per transaction, never overdrawing."""

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db import connection

from accounts.models import Account
from accounts.services import freeze_account
from atm_project.problems import (
    AccountNotActive,
    InsufficientFunds,
    InvalidRequest,
    TransactionAlreadyReversed,
)
from atm_project.testing.commands import run_command
from atm_project.testing.ledger import ledger_snapshot, write_past_the_guards
from audit.models import AuditEvent
from transactions import services
from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


def legs(txn: Transaction) -> dict[int, Decimal]:
    return dict(Entry.objects.filter(transaction=txn).values_list("account_id", "amount"))


def reverse(txn: Transaction, reason: str = "teller correction") -> Transaction:
    return services.reverse(transaction_id=txn.id, actor=None, reason=reason)


def assert_exact_reversal(original: Transaction, reversal: Transaction) -> None:
    original = Transaction.objects.get(pk=original.pk)
    assert original.status == Transaction.Status.REVERSED
    assert reversal.kind == Transaction.Kind.REVERSAL
    assert reversal.reverses_id == original.id
    assert reversal.amount == original.amount
    assert legs(reversal) == {account: -amount for account, amount in legs(original).items()}
    assert reconcile().clean


def test_reversing_a_deposit_takes_the_money_back(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("80"), actor=user)
    reversal = reverse(deposit)
    assert_exact_reversal(deposit, reversal)
    account.refresh_from_db()
    assert account.balance == Decimal("500.00")
    assert (reversal.account_id, reversal.counterparty_id) == (account.id, None)


def test_reversing_a_withdrawal_returns_the_cash(user, account):
    withdrawal = services.withdraw(account_number=account.number, amount=Decimal("80"), actor=user)
    reversal = reverse(withdrawal)
    assert_exact_reversal(withdrawal, reversal)
    account.refresh_from_db()
    assert account.balance == Decimal("500.00")


def test_reversing_a_transfer_moves_the_money_back(user, account, other_account):
    transfer = services.transfer(
        from_account=account.number,
        to_account=other_account.number,
        amount=Decimal("120"),
        actor=user,
    )
    reversal = reverse(transfer)
    assert_exact_reversal(transfer, reversal)
    account.refresh_from_db()
    other_account.refresh_from_db()
    assert (account.balance, other_account.balance) == (Decimal("500.00"), Decimal("300.00"))
    # The money flows back: from the original's target to its source.
    assert (reversal.account_id, reversal.counterparty_id) == (other_account.id, account.id)


def test_a_second_reversal_is_refused_and_changes_nothing(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    reverse(deposit)
    before = ledger_snapshot()
    with pytest.raises(TransactionAlreadyReversed):
        reverse(deposit)
    assert ledger_snapshot() == before


def test_a_reversal_cannot_itself_be_reversed(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    reversal = reverse(deposit)
    with pytest.raises(InvalidRequest):
        reverse(reversal)


def test_reversing_money_already_spent_is_refused_and_changes_nothing(user, account_factory):
    fresh = account_factory(owner=user)
    deposit = services.deposit(account_number=fresh.number, amount=Decimal("100"), actor=user)
    services.withdraw(account_number=fresh.number, amount=Decimal("70"), actor=user)
    before = ledger_snapshot()

    with pytest.raises(InsufficientFunds):
        reverse(deposit)

    assert ledger_snapshot() == before
    assert reconcile().clean


def test_reversing_a_transfer_whose_target_spent_it_is_refused(
    user, other_user, account, account_factory
):
    theirs = account_factory(owner=other_user)
    transfer = services.transfer(
        from_account=account.number, to_account=theirs.number, amount=Decimal("50"), actor=user
    )
    services.withdraw(account_number=theirs.number, amount=Decimal("50"), actor=other_user)
    with pytest.raises(InsufficientFunds):
        reverse(transfer)
    assert Transaction.objects.get(pk=transfer.pk).status == Transaction.Status.POSTED


def test_staff_can_reverse_on_a_frozen_account(user, account):
    # The usual case: freeze the account a fraudulent payment went to, then pull it back.
    withdrawal = services.withdraw(account_number=account.number, amount=Decimal("30"), actor=user)
    freeze_account(number=account.number, actor=None, reason="fraud")
    assert_exact_reversal(withdrawal, reverse(withdrawal))


def test_nothing_is_reversed_into_a_closed_account(user, account_factory):
    fresh = account_factory(owner=user, balance="30.00")
    withdrawal = services.withdraw(account_number=fresh.number, amount=Decimal("30"), actor=user)
    Account.objects.filter(pk=fresh.pk).update(status=Account.Status.CLOSED)
    with pytest.raises(AccountNotActive):
        reverse(withdrawal)


@pytest.mark.parametrize("reason", ["", "  "])
def test_a_reversal_needs_a_reason(user, account, reason):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    with pytest.raises(InvalidRequest):
        reverse(deposit, reason=reason)
    assert Transaction.objects.get(pk=deposit.pk).status == Transaction.Status.POSTED


def test_a_reversal_appears_in_history_and_in_the_statement(auth_client, user, account):
    withdrawal = services.withdraw(account_number=account.number, amount=Decimal("25"), actor=user)
    reversal = reverse(withdrawal, reason="ATM jammed")

    history = auth_client.get(f"/api/v1/accounts/{account.number}/transactions/").json()
    newest = history["results"][0]
    assert (newest["transaction_id"], newest["kind"]) == (str(reversal.id), "reversal")
    assert (newest["amount"], newest["balance_after"]) == ("25.00", "500.00")
    # The customer sees which transaction was undone; staff's reason stays in the audit trail.
    assert newest["description"] == f"Reversal of {withdrawal.id}"
    audited = AuditEvent.objects.get(action="money.reversal", object_id=str(reversal.id))
    assert audited.data["reason"] == "ATM jammed"

    day = reversal.created_at.date().isoformat()
    response = auth_client.get(
        f"/api/v1/accounts/{account.number}/statement/", {"from": day, "to": day}
    )
    statement = json.loads(b"".join(response.streaming_content))
    assert [entry["kind"] for entry in statement["entries"]][-2:] == ["withdrawal", "reversal"]
    listed = auth_client.get(f"/api/v1/transactions/{withdrawal.id}/").json()
    assert listed["status"] == "reversed"


# The reverse_transaction command files a four-eyes request: tested in backoffice/tests.


# ---------------------------------------------------------------- reconcile sees broken links


def db_id(txn: Transaction):
    """A transaction id as this database stores it (SQLite: 32 hex digits; PostgreSQL: uuid)."""
    return Transaction._meta.pk.get_db_prep_value(txn.id, connection)


def test_reconcile_detects_a_reversed_mark_without_a_reversal(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    # Allowed even by the triggers: it is the one permitted change, just done without a reversal.
    Transaction.objects.mark_reversed(deposit.pk)
    findings = reconcile().findings
    assert [(f.check, f.subject) for f in findings] == [("reversal", f"transaction {deposit.id}")]
    with pytest.raises(CommandError):
        run_command("reconcile")


def test_reconcile_detects_a_reversal_of_a_transaction_not_marked_reversed(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    reversal = reverse(deposit)
    write_past_the_guards(
        "UPDATE transactions_transaction SET status = 'posted' WHERE id = %s", [db_id(deposit)]
    )
    details = {f.detail for f in reconcile().findings if f.subject == f"transaction {reversal.id}"}
    assert details == {"reverses a transaction not marked reversed"}


def test_reconcile_detects_a_reversal_that_does_not_undo_its_original(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("10"), actor=user)
    other = services.deposit(account_number=account.number, amount=Decimal("20"), actor=user)
    reversal = reverse(deposit)
    # Point the reversal at another transaction (and mark that one reversed, so only the legs
    # give the forgery away).
    write_past_the_guards(
        "UPDATE transactions_transaction SET reverses_id = %s WHERE id = %s",
        [db_id(other), db_id(reversal)],
    )
    write_past_the_guards(
        "UPDATE transactions_transaction SET status = 'reversed' WHERE id = %s", [db_id(other)]
    )
    details = {f.detail for f in reconcile().findings}
    assert f"entries are not the opposite of transaction {other.id}" in details
    assert "marked reversed but no reversal exists" in details  # the deposit, orphaned
