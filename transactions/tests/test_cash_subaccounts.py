"""Deposits, withdrawals and captures post their cash leg against the cash sub-account of the
customer account's shard; customers never see it."""

from decimal import Decimal

import pytest

from atm_project.testing.clients import account_url
from atm_project.testing.ledger import cash_subaccount_of
from transactions import services
from transactions.models import Entry

pytestmark = pytest.mark.django_db


def deposit(account):
    return services.deposit(account_number=account.number, amount=Decimal("4"), actor=account.owner)


def withdraw(account):
    return services.withdraw(
        account_number=account.number, amount=Decimal("4"), actor=account.owner
    )


def capture(account):
    hold = services.create_hold(
        account_number=account.number, amount=Decimal("4"), actor=account.owner
    )
    return services.capture_hold(hold_id=hold.pk, actor=account.owner)


@pytest.mark.parametrize("move", [deposit, withdraw, capture])
def test_the_cash_leg_is_on_the_sub_account_of_the_accounts_shard(account_factory, move):
    # Consecutive accounts, so three different shards.
    accounts = [account_factory(balance="50.00") for _ in range(3)]
    for account in accounts:
        posted = move(account)
        legs = set(Entry.objects.filter(transaction=posted).values_list("account_id", flat=True))
        assert legs == {account.pk, cash_subaccount_of(account).pk}
    assert len({cash_subaccount_of(account).pk for account in accounts}) == 3


def test_customers_see_no_trace_of_the_cash_sub_account(auth_client, account):
    cash = cash_subaccount_of(account)
    auth_client.post(account_url(account, "withdraw"), {"amount": "5"}, format="json")
    for path in ("transactions", "mini-statement"):
        body = auth_client.get(account_url(account, path)).content.decode()
        assert cash.number not in body, path
