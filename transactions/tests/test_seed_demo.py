"""`manage.py seed_demo`: exactly the demo data of docs/api.md "Commands", funded through the
ledger, idempotent."""

from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model

from accounts.models import Account
from accounts.services import ensure_cash_subaccounts
from atm_project.testing.clients import sign_in, token_client
from atm_project.testing.commands import run_command
from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db

User = get_user_model()
DEMO_ACCOUNTS = {
    "1000000008": ("checking", Decimal("1000.00")),
    "1000000016": ("savings", Decimal("2500.00")),
}


def demo_state() -> dict:
    return {
        "users": sorted(User.objects.values_list("username", flat=True)),
        "accounts": sorted(
            Account.objects.values_list("number", "kind", "currency", "balance", "owner__username")
        ),
        "transactions": Transaction.objects.count(),
        "entries": Entry.objects.count(),
    }


def test_seed_demo_creates_the_demo_customer_and_accounts():
    run_command("seed_demo")
    demo = User.objects.get(username="demo")
    assert demo.check_password("demo-pass-2468")
    assert not demo.is_staff and not demo.is_superuser
    customer_accounts = Account.objects.exclude(kind="internal")
    assert {
        account.number: (account.kind, account.balance) for account in customer_accounts
    } == DEMO_ACCOUNTS
    assert all(a.owner == demo and a.currency == "USD" for a in customer_accounts)
    assert all(a.status == "active" for a in customer_accounts)
    # Funded by real deposits against the bank's cash sub-accounts: the ledger reconciles.
    for number, (_, balance) in DEMO_ACCOUNTS.items():
        (entry,) = Entry.objects.filter(account__number=number)
        assert (entry.kind, entry.amount) == ("deposit", balance)
    assert reconcile().clean
    assert not User.objects.filter(username="admin").exists()

    # And the demo customer can use them through the API.
    demo_client = token_client(sign_in("demo", "demo-pass-2468")["access"])
    listed = demo_client.get("/api/v1/accounts/").json()["results"]
    assert {(a["number"], a["balance"]) for a in listed} == {
        ("1000000008", "1000.00"),
        ("1000000016", "2500.00"),
    }


def test_seed_demo_is_idempotent():
    run_command("seed_demo")
    first = demo_state()
    run_command("seed_demo")
    run_command("seed_demo")
    assert demo_state() == first


def test_seed_demo_keeps_the_demo_customers_changes_of_password():
    run_command("seed_demo")
    demo = User.objects.get(username="demo")
    demo.set_password("changed-pass-1357")
    demo.save()
    run_command("seed_demo")
    demo.refresh_from_db()
    assert demo.check_password("changed-pass-1357")


def test_seed_demo_funds_an_account_an_interrupted_run_left_empty():
    # What a first run that died between opening the account and funding it leaves behind.
    demo = User.objects.create_user(username="demo", password="demo-pass-2468")
    ensure_cash_subaccounts(currency="USD")
    Account.objects.create(number="1000000008", owner=demo, kind="checking", currency="USD")
    run_command("seed_demo")
    balances = dict(Account.objects.exclude(kind="internal").values_list("number", "balance"))
    assert balances == {number: balance for number, (_, balance) in DEMO_ACCOUNTS.items()}
    assert reconcile().clean


def test_seed_demo_with_admin_creates_the_superuser_once():
    run_command("seed_demo", "--with-admin")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff
    assert admin.check_password("admin-pass-2468")
    first = demo_state()
    run_command("seed_demo", "--with-admin")
    assert demo_state() == first
    assert User.objects.filter(is_superuser=True).count() == 1
