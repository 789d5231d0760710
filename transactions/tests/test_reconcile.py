"""`manage.py reconcile`: clean on a ledger kept by the services, loud and specific otherwise."""

import sqlite3
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from accounts.models import CASH_SUBACCOUNTS, Account
from atm_project.testing.commands import run_command
from atm_project.testing.ledger import cash_subaccount_of, switch_triggers_off
from atm_project.testing.live_server import run_manage, sqlite_database_url
from transactions import services as ledger
from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def without_double_entry_triggers():
    """What reconcile is the backstop for: on PostgreSQL, a ledger written while someone owning
    the tables had the double-entry triggers off. SQLite has no such triggers."""
    switch_triggers_off()


@pytest.fixture
def busy_ledger(user, account, other_account, account_factory):
    """Deposits, withdrawals and transfers in two currencies, all through the services."""
    euros = account_factory(owner=user, currency="EUR", balance="80.00")
    ledger.withdraw(account_number=account.number, amount=Decimal("20.00"), actor=user)
    ledger.transfer(
        from_account=account.number,
        to_account=other_account.number,
        amount=Decimal("30.50"),
        actor=user,
    )
    ledger.deposit(account_number=euros.number, amount=Decimal("0.01"), actor=user)
    return {"account": account, "other_account": other_account, "euros": euros}


def test_a_ledger_kept_by_the_services_reconciles(busy_ledger):
    out, err = run_command("reconcile")
    assert "Ledger reconciled: no discrepancies." in out
    assert "FAIL" not in out and err == ""
    report = reconcile()
    assert report.clean
    # 3 customer accounts, and the cash sub-accounts of 2 currencies.
    assert report.accounts_checked == Account.objects.count() == 3 + 2 * CASH_SUBACCOUNTS
    # Three opening deposits, a withdrawal, a transfer and a deposit.
    assert report.transactions_checked == Transaction.objects.count() == 6


def test_a_discrepancy_is_a_command_error_with_exit_status_1(busy_ledger):
    Account.objects.filter(pk=busy_ledger["account"].pk).update(balance=Decimal("1.00"))
    with pytest.raises(CommandError) as error:
        run_command("reconcile")
    assert error.value.returncode == 1  # what manage.py exits with


def test_manage_py_reconcile_exits_0_on_the_demo_ledger_and_1_after_tampering(tmp_path):
    database_url = sqlite_database_url(tmp_path)
    assert run_manage(database_url, "seed_demo").returncode == 0
    clean = run_manage(database_url, "reconcile")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "Ledger reconciled" in clean.stdout
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE accounts_account SET balance = 999 WHERE number = '1000000016'")
    tampered = run_manage(database_url, "reconcile")
    assert tampered.returncode == 1
    assert "[balance] account 1000000016: stored balance 999.00" in tampered.stderr
    assert "1000000008" not in tampered.stderr


def test_a_balance_changed_behind_the_ledgers_back_is_named(busy_ledger):
    account = busy_ledger["account"]
    # What a careless script or admin would do: no entry, no lock, no transaction.
    Account.objects.filter(pk=account.pk).update(balance=Decimal("1000.00"))
    with pytest.raises(CommandError, match="1 discrepancies"):
        run_command("reconcile")
    findings = reconcile().findings
    assert [(f.check, f.subject) for f in findings] == [("balance", f"account {account.number}")]
    assert "stored balance 1000.00 but its entries sum to 449.50" in findings[0].detail


def test_the_report_names_the_failing_check_and_the_account(busy_ledger):
    account = busy_ledger["euros"]
    Account.objects.filter(pk=account.pk).update(balance=Decimal("0.00"))
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError):
        call_command("reconcile", stdout=out, stderr=err)
    assert "FAIL stored balance = sum of entries" in out.getvalue()
    assert "ok   every transaction has two or more entries summing to zero" in out.getvalue()
    assert f"[balance] account {account.number}" in err.getvalue()


def test_a_bank_cash_sub_account_changed_behind_the_ledgers_back_is_named_too(busy_ledger):
    cash = cash_subaccount_of(busy_ledger["account"])
    Account.objects.filter(pk=cash.pk).update(balance=cash.balance + Decimal("0.01"))
    assert [f.subject for f in reconcile().findings] == [f"account {cash.number}"]


def test_a_missing_cash_subaccount_is_named(busy_ledger):
    unused = Account.objects.filter(kind="internal", currency="EUR", entries__isnull=True)
    shard = unused.order_by("cash_shard").first().cash_shard
    unused.filter(cash_shard=shard).delete()
    findings = reconcile().findings
    assert [(f.check, f.subject) for f in findings] == [("cash", "currency EUR")]
    assert f"shard(s) {shard} of {CASH_SUBACCOUNTS}" in findings[0].detail


def test_a_transaction_whose_entries_do_not_sum_to_zero_is_named(
    busy_ledger, without_double_entry_triggers
):
    account = busy_ledger["account"]
    account.refresh_from_db()
    # Money from nowhere: one leg, written straight to the tables the services own. The balance
    # is kept in step so that only the double-entry rule is broken.
    forged = Transaction.objects.create(
        kind="deposit", amount=Decimal("5.00"), currency="USD", account=account
    )
    Entry.objects.create(
        transaction=forged,
        account=account,
        amount=Decimal("5.00"),
        balance_after=account.balance + Decimal("5.00"),
        kind="deposit",
        created_at=forged.created_at,
    )
    Account.objects.filter(pk=account.pk).update(balance=account.balance + Decimal("5.00"))
    findings = reconcile().findings
    assert [(f.check, f.subject) for f in findings] == [
        ("double-entry", f"transaction {forged.id}"),
        ("audit", f"transaction {forged.id}"),
    ]
    assert "1 entries summing to 5.00" in findings[0].detail
    with pytest.raises(CommandError):
        run_command("reconcile")


def test_a_transaction_without_entries_is_named(busy_ledger, without_double_entry_triggers):
    empty = Transaction.objects.create(
        kind="deposit", amount=Decimal("5.00"), currency="USD", account=busy_ledger["account"]
    )
    assert [(f.check, f.subject) for f in reconcile().findings] == [
        ("double-entry", f"transaction {empty.id}"),
        ("audit", f"transaction {empty.id}"),
    ]


def test_a_leg_on_an_account_of_another_currency_is_named(
    busy_ledger, without_double_entry_triggers
):
    # Balanced, two legs, balances kept in step: only the currency rule is broken (the check
    # SQLite relies on; PostgreSQL's trigger refuses such a transaction at commit).
    account, euros = busy_ledger["account"], busy_ledger["euros"]
    account.refresh_from_db()
    euros.refresh_from_db()
    forged = Transaction.objects.create(
        kind="transfer", amount=Decimal("1.00"), currency="USD", account=account
    )
    for leg, amount in ((account, Decimal("-1.00")), (euros, Decimal("1.00"))):
        Entry.objects.create(
            transaction=forged,
            account=leg,
            amount=amount,
            balance_after=leg.balance + amount,
            kind="transfer",
            created_at=forged.created_at,
        )
        Account.objects.filter(pk=leg.pk).update(balance=leg.balance + amount)
    # Written behind the services' back, so it has no audit event either.
    findings = {(f.check, f.subject): f.detail for f in reconcile().findings}
    assert set(findings) == {
        ("currency", f"transaction {forged.id}"),
        ("audit", f"transaction {forged.id}"),
    }
    assert (
        f"leg on account {euros.number} in EUR" in findings["currency", f"transaction {forged.id}"]
    )
