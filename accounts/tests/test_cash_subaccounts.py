"""The bank's cash of a currency is CASH_SUBACCOUNTS internal sub-accounts; a customer account's
cash legs go to the one of its shard (pk % CASH_SUBACCOUNTS), and only that one is locked."""

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import CASH_SUBACCOUNTS, Account
from accounts.numbers import is_luhn_valid
from accounts.services import cash_shard_of, ensure_cash_subaccounts, lock_accounts
from atm_project.testing.ledger import cash_subaccount_of

pytestmark = pytest.mark.django_db


def cash_of(currency: str):
    return Account.objects.filter(kind=Account.Kind.INTERNAL, currency=currency)


def test_each_currency_gets_one_sub_account_per_shard_once():
    ensure_cash_subaccounts(currency="GBP")
    subaccounts = list(cash_of("GBP").order_by("cash_shard"))
    assert [sub.cash_shard for sub in subaccounts] == list(range(CASH_SUBACCOUNTS))
    assert all(is_luhn_valid(sub.number) and sub.owner is None for sub in subaccounts)
    assert {sub.balance for sub in subaccounts} == {0}
    with CaptureQueriesContext(connection) as queries:
        ensure_cash_subaccounts(currency="GBP")
    assert len(queries) == 1  # what open_account pays on every opening
    assert cash_of("GBP").count() == CASH_SUBACCOUNTS


def test_a_missing_sub_account_is_created_again():
    ensure_cash_subaccounts(currency="GBP")
    cash_of("GBP").filter(cash_shard=5).delete()
    ensure_cash_subaccounts(currency="GBP")
    assert sorted(cash_of("GBP").values_list("cash_shard", flat=True)) == list(
        range(CASH_SUBACCOUNTS)
    )


def test_a_deposit_locks_only_the_cash_sub_account_of_its_accounts_shard(account_factory):
    dollars, euros = account_factory(), account_factory(currency="EUR")
    with transaction.atomic():
        locked = lock_accounts(numbers=[dollars.number, euros.number], with_cash_account=True)
    expected = {dollars, euros, cash_subaccount_of(dollars), cash_subaccount_of(euros)}
    assert set(locked.values()) == expected
    assert cash_subaccount_of(euros).cash_shard == cash_shard_of(euros) == euros.pk % 16
    with transaction.atomic():
        assert set(lock_accounts(numbers=[dollars.number]).values()) == {dollars}


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        # SQLite names the columns of a unique index, PostgreSQL its name.
        (
            {"kind": "internal", "cash_shard": 0},
            "account_one_cash_subaccount_per_shard|accounts_account.currency, "
            "accounts_account.cash_shard",
        ),
        ({"kind": "internal", "cash_shard": None}, "account_cash_shard_iff_internal"),
        ({"kind": "internal", "cash_shard": CASH_SUBACCOUNTS}, "account_cash_shard_in_range"),
    ],
)
def test_the_database_keeps_the_shards_in_order(fields, constraint):
    ensure_cash_subaccounts(currency="USD")
    with pytest.raises(IntegrityError, match=constraint), transaction.atomic():
        Account.objects.create(number="1000000099", currency="USD", **fields)


def test_a_customer_account_has_no_cash_shard(user):
    with (
        pytest.raises(IntegrityError, match="account_cash_shard_iff_internal"),
        transaction.atomic(),
    ):
        Account.objects.create(number="1000000099", owner=user, kind="checking", cash_shard=1)
