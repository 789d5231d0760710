"""Holds under real concurrency on PostgreSQL: threads racing on the same account and hold.

Like test_concurrency.py these commit for real (`transaction=True`) and need PostgreSQL's row
locks; on SQLite they skip with a reason.
"""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounts.tests.factories import AccountFactory
from atm_project.problems import (
    DailyLimitExceeded,
    DomainError,
    HoldNotPending,
    InsufficientFunds,
)
from atm_project.testing.racing import race
from transactions import services as ledger
from transactions.models import Entry, Hold, Transaction
from transactions.reconciliation import reconcile
from transactions.selectors import held_amount

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

HUNDRED = Decimal("100.00")


def outcome(call):
    """The call's result, or the domain error it raised (what the race is about)."""
    try:
        return call()
    except DomainError as error:
        return error


def fresh(account):
    account.refresh_from_db()
    return account


def assert_ledger_consistent() -> None:
    report = reconcile()
    assert report.clean, [str(finding) for finding in report.findings]


def assert_never_overdrawn(account) -> None:
    account = fresh(account)
    assert account.balance >= 0
    assert account.balance - held_amount(account, at=timezone.now()) >= 0


def test_ten_racing_holds_of_100_on_500_let_exactly_five_through(requires_postgres):
    account = AccountFactory(balance="500.00")

    results = race(
        10,
        lambda i: outcome(
            lambda: ledger.create_hold(
                account_number=account.number, amount=HUNDRED, actor=account.owner
            )
        ),
    )

    held = [r for r in results if isinstance(r, Hold)]
    refused = [r for r in results if isinstance(r, InsufficientFunds)]
    assert (len(held), len(refused)) == (5, 5), results
    assert fresh(account).balance == Decimal("500.00")
    assert held_amount(account, at=timezone.now()) == Decimal("500.00")
    assert_ledger_consistent()


def test_holds_racing_withdrawals_and_transfers_never_overdraw(requires_postgres):
    account = AccountFactory(balance="500.00")
    target = AccountFactory(owner=account.owner)
    moves = [
        lambda: ledger.create_hold(
            account_number=account.number, amount=HUNDRED, actor=account.owner
        ),
        lambda: ledger.withdraw(account_number=account.number, amount=HUNDRED, actor=account.owner),
        lambda: ledger.transfer(
            from_account=account.number,
            to_account=target.number,
            amount=HUNDRED,
            actor=account.owner,
        ),
    ]

    results = race(12, lambda i: outcome(moves[i % 3]))

    succeeded = [r for r in results if not isinstance(r, DomainError)]
    assert len(succeeded) == 5, results
    assert all(isinstance(r, InsufficientFunds) for r in results if isinstance(r, DomainError))
    assert_never_overdrawn(account)
    for hold in [r for r in succeeded if isinstance(r, Hold)]:
        ledger.capture_hold(hold_id=hold.pk, actor=account.owner)
    assert fresh(account).balance == Decimal("0.00")
    assert_ledger_consistent()


@pytest.mark.parametrize("round_", range(3))
def test_racing_captures_and_voids_of_one_hold_let_exactly_one_win(requires_postgres, round_):
    account = AccountFactory(balance="500.00")
    hold = ledger.create_hold(account_number=account.number, amount=HUNDRED, actor=account.owner)

    def capture_or_void(i: int):
        if i % 2:
            return outcome(lambda: ledger.capture_hold(hold_id=hold.pk, actor=account.owner))
        return outcome(
            lambda: ledger.void_hold(hold_id=hold.pk, actor=account.owner, reason="timeout")
        )

    results = race(8, capture_or_void)

    winners = [r for r in results if not isinstance(r, DomainError)]
    assert len(winners) == 1, results
    assert all(isinstance(r, HoldNotPending) for r in results if r not in winners)
    hold.refresh_from_db()
    withdrawals = Transaction.objects.filter(hold=hold).count()
    if isinstance(winners[0], Transaction):
        assert (hold.status, withdrawals, fresh(account).balance) == ("captured", 1, 400)
    else:
        assert (hold.status, withdrawals, fresh(account).balance) == ("voided", 0, 500)
    assert held_amount(account, at=timezone.now()) == 0
    assert_ledger_consistent()


def test_racing_holds_and_withdrawals_never_pass_the_daily_limit(requires_postgres):
    account = AccountFactory(balance="5000.00")
    assert account.daily_withdrawal_limit == Decimal("1000.00")
    moves = [
        lambda: ledger.create_hold(
            account_number=account.number, amount=HUNDRED, actor=account.owner
        ),
        lambda: ledger.withdraw(account_number=account.number, amount=HUNDRED, actor=account.owner),
    ]

    results = race(16, lambda i: outcome(moves[i % 2]))

    succeeded = [r for r in results if not isinstance(r, DomainError)]
    assert len(succeeded) == 10, results
    assert all(isinstance(r, DailyLimitExceeded) for r in results if isinstance(r, DomainError))
    withdrawn = -Entry.objects.filter(account=account, kind="withdrawal").aggregate(
        total=Sum("amount")
    )["total"]
    assert withdrawn + held_amount(account, at=timezone.now()) == Decimal("1000.00")
    # Captured, the holds become today's withdrawals: still exactly the limit.
    for hold in [r for r in succeeded if isinstance(r, Hold)]:
        ledger.capture_hold(hold_id=hold.pk, actor=account.owner)
    assert fresh(account).balance == Decimal("4000.00")
    assert_ledger_consistent()


@pytest.mark.parametrize("expires_in_ms", [0, 20, 40, 60, 80, 150])
def test_a_hold_expiring_while_a_capture_races_is_captured_or_released_never_both(
    requires_postgres, expires_in_ms
):
    """The whole balance is held; captures race a withdrawal of the whole balance (which only
    an expired hold lets through) around the hold's `expires_at`."""
    account = AccountFactory(balance="100.00")
    hold = ledger.create_hold(account_number=account.number, amount=HUNDRED, actor=account.owner)
    expires_at = timezone.now() + timedelta(milliseconds=expires_in_ms)
    Hold.objects.filter(pk=hold.pk).update(expires_at=expires_at)

    def capture_or_withdraw(i: int):
        # Spread the attempts across the moment of expiry.
        time.sleep(i * 0.01)
        if i % 2:
            return outcome(lambda: ledger.capture_hold(hold_id=hold.pk, actor=account.owner))
        return outcome(
            lambda: ledger.withdraw(
                account_number=account.number, amount=HUNDRED, actor=account.owner
            )
        )

    results = race(12, capture_or_withdraw)

    posted = [r for r in results if isinstance(r, Transaction)]
    assert len(posted) == 1, results  # the 100.00 left the account exactly once
    hold.refresh_from_db()
    if posted[0].hold_id == hold.pk:
        # The capture won, and it decided before expires_at.
        assert hold.status == "captured" and hold.closed_at < hold.expires_at
    else:
        # The money was released by expiry and withdrawn; no capture happened.
        assert hold.status == "pending" and hold.expires_at <= posted[0].created_at
        assert not Transaction.objects.filter(hold=hold).exists()
    assert fresh(account).balance == Decimal("0.00")
    assert_ledger_consistent()
