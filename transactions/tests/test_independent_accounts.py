"""Movements on different accounts share no lock (PostgreSQL, real threads).

One deposit is held open at its very end, after its audit append (on the SQL engine: after its
one call, inside a transaction left open), so its transaction holds
every lock a movement takes: its account, the cash sub-account of its shard and its account's
audit chain. Meanwhile deposits, withdrawals, captures and transfers on other accounts, all of
which used to share the bank's one cash account and one audit chain head with it, must complete;
a movement on the held account itself must wait for it (which is what shows the hold works).
"""

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import connection, transaction

from accounts.models import CASH_SUBACCOUNTS, Account
from accounts.services import cash_shard_of
from accounts.tests.factories import AccountFactory
from atm_project.testing.ledger import balance_of
from audit.verification import verify_chain
from transactions import services
from transactions.reconciliation import reconcile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

# Seconds an independent movement may take at most (each takes milliseconds), and how long a
# movement on the held account is watched to make sure it is still waiting.
WAIT = 10
STILL_WAITING = 1.0
ONE = Decimal("1.00")


def in_thread(pool: ThreadPoolExecutor, call: Callable[[], object]) -> Future:
    def run():
        try:
            return call()
        finally:
            connection.close()  # each thread's own connection, so the test database can go

    return pool.submit(run)


@contextmanager
def deposit_held_open(pool, account: Account, monkeypatch, engine: str) -> Iterator[Future]:
    """A real deposit of 1.00 on `account`, stopped once it has written everything, audit link
    included, with its transaction and every lock it took still open until the block ends."""
    written, release = threading.Event(), threading.Event()

    def hold_here():
        written.set()
        release.wait(3 * WAIT)

    if engine == "sql":
        # The SQL engine's one call, inside a transaction, runs in a savepoint: the transaction
        # keeps every lock the call took until it ends.
        def held_deposit():
            with transaction.atomic():
                posted = deposit(account)
                hold_here()
                return posted
    else:
        record_event = services.record_event

        def record_then_hold(**event):
            recorded = record_event(**event)
            if recorded.data.get("account") == account.number and not release.is_set():
                hold_here()
            return recorded

        monkeypatch.setattr(services, "record_event", record_then_hold)

        def held_deposit():
            return deposit(account)

    held = in_thread(pool, held_deposit)
    try:
        assert written.wait(WAIT), "the held deposit never wrote its audit link"
        yield held
    finally:
        release.set()
        held.result(WAIT)


def deposit(account: Account):
    return services.deposit(account_number=account.number, amount=ONE, actor=account.owner)


def withdraw(account: Account):
    return services.withdraw(account_number=account.number, amount=ONE, actor=account.owner)


def hold_and_capture(account: Account):
    hold = services.create_hold(account_number=account.number, amount=ONE, actor=account.owner)
    return services.capture_hold(hold_id=hold.pk, actor=account.owner)


def transfer(source: Account, target: Account):
    return services.transfer(
        from_account=source.number, to_account=target.number, amount=ONE, actor=source.owner
    )


@pytest.fixture
def bank(requires_postgres, user):
    """One account per cash shard and one more: the first and the last share a shard (account
    ids are consecutive); the others each have a cash sub-account of their own."""
    accounts = [AccountFactory(owner=user, balance="100.00") for _ in range(CASH_SUBACCOUNTS + 1)]
    held, *others = accounts
    same_shard = [a for a in others if cash_shard_of(a) == cash_shard_of(held)]
    other_shards = [a for a in others if cash_shard_of(a) != cash_shard_of(held)]
    assert len(same_shard) == 1 and len(other_shards) == CASH_SUBACCOUNTS - 1
    return held, same_shard[0], other_shards


def test_movements_on_other_accounts_complete_while_one_holds_its_locks(
    bank, monkeypatch, ledger_engine
):
    held, same_shard, (a, b, c, d, e, f, *_) = bank
    independent = {
        "deposit, another shard": lambda: deposit(a),
        "withdrawal, another shard": lambda: withdraw(b),
        "hold and capture, another shard": lambda: hold_and_capture(c),
        "transfer between two others": lambda: transfer(d, e),
        # Transfers touch no cash: sharing the held account's cash sub-account does not matter.
        "transfer from the held account's shard": lambda: transfer(same_shard, f),
    }
    with ThreadPoolExecutor(max_workers=len(independent) + 2) as pool:
        with deposit_held_open(pool, held, monkeypatch, ledger_engine) as held_deposit:
            running = {name: in_thread(pool, call) for name, call in independent.items()}
            done, _ = wait(running.values(), timeout=WAIT)
            stuck = [name for name, future in running.items() if future not in done]
            assert stuck == [], f"waited for the held deposit: {stuck}"
            for future in done:
                future.result()  # re-raise a refusal or error
            assert not held_deposit.done()  # all of it happened while the deposit held its locks

            same_account = in_thread(pool, lambda: withdraw(held))
            assert wait([same_account], timeout=STILL_WAITING).not_done == {same_account}
        same_account.result(WAIT)  # released: it goes through after the deposit

    assert balance_of(held) == Decimal("100.00")  # +1.00 held deposit, -1.00 after it
    after = ("101.00", "99.00", "99.00", "99.00", "101.00", "99.00", "101.00")
    assert [balance_of(x) for x in (a, b, c, d, e, same_shard, f)] == [Decimal(x) for x in after]
    report = verify_chain()
    assert report.ok, report.problem
    assert reconcile().clean
