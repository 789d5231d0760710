"""Money under real concurrency on PostgreSQL: threads racing on the same rows.

Inside a test transaction `select_for_update` proves nothing, so these tests commit for real
(`transaction=True`) and need PostgreSQL's row locks; on SQLite they skip with a reason (the
same race through a multi-worker server on SQLite is in test_live_server.py).
"""

import random
from collections import Counter
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounts.models import Account
from accounts.tests.factories import AccountFactory
from atm_project.problems import DomainError
from atm_project.testing.clients import bearer_client
from atm_project.testing.ledger import balance_of
from atm_project.testing.racing import race
from transactions import services as ledger
from transactions.models import Entry
from transactions.reconciliation import reconcile

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def assert_ledger_consistent() -> None:
    report = reconcile()
    assert report.clean, [str(finding) for finding in report.findings]


def test_ten_concurrent_withdrawals_of_100_from_500_let_exactly_five_through(
    requires_postgres,
):
    account = AccountFactory(balance="500.00")
    url = f"/api/v1/accounts/{account.number}/withdraw/"

    def withdraw(_):
        response = bearer_client(account.owner).post(url, {"amount": "100.00"}, format="json")
        return response.status_code, response.json()

    results = race(10, withdraw)
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 5, 422: 5}, results
    assert {body["code"] for status, body in results if status == 422} == {"insufficient_funds"}
    # Each success saw a different balance after it: the withdrawals were serialised.
    after = sorted(body["balance_after"] for status, body in results if status == 201)
    assert after == ["0.00", "100.00", "200.00", "300.00", "400.00"]
    assert balance_of(account) == Decimal("0.00")
    assert account.entries.filter(kind="withdrawal").count() == 5
    assert_ledger_consistent()


def test_opposite_transfers_between_two_accounts_never_deadlock(requires_postgres, user):
    first = AccountFactory(owner=user, balance="1000.00")
    second = AccountFactory(owner=user, balance="1000.00")
    threads, transfers_each = 12, 5

    def ping_pong(index):
        client = bearer_client(user)
        statuses = []
        for step in range(transfers_each):
            source, target = (first, second) if (index + step) % 2 else (second, first)
            response = client.post(
                "/api/v1/transfers/",
                {"from_account": source.number, "to_account": target.number, "amount": "7.00"},
                format="json",
            )
            statuses.append(response.status_code)
        return statuses

    results = race(threads, ping_pong)
    assert Counter(status for statuses in results for status in statuses) == {
        201: threads * transfers_each
    }
    # Every thread moved money both ways as often: the pair ends where it started.
    assert balance_of(first) + balance_of(second) == Decimal("2000.00")
    assert first.entries.filter(kind="transfer").count() == threads * transfers_each
    assert_ledger_consistent()


def test_random_concurrent_transfers_conserve_money(requires_postgres, user):
    accounts = [AccountFactory(owner=user, balance="100.00") for _ in range(5)]
    numbers = [account.number for account in accounts]
    threads, transfers_each = 8, 15

    def shuffle_money(index):
        chooser = random.Random(index)
        outcomes = Counter()
        for _ in range(transfers_each):
            source, target = chooser.sample(numbers, 2)
            amount = Decimal(chooser.randint(1, 6000)) / 100
            try:
                ledger.transfer(from_account=source, to_account=target, amount=amount, actor=user)
                outcomes["posted"] += 1
            except DomainError as error:
                outcomes[error.code] += 1
        return outcomes

    results = race(threads, shuffle_money)
    total = sum(results, Counter())
    assert set(total) <= {"posted", "insufficient_funds"}
    assert total["posted"] > 0
    customer = Account.objects.filter(number__in=numbers)
    assert customer.aggregate(total=Sum("balance"))["total"] == Decimal("500.00")
    assert not customer.filter(balance__lt=0).exists()
    for account in customer:
        entries = Entry.objects.filter(account=account).aggregate(total=Sum("amount"))["total"]
        assert account.balance == entries
    assert Entry.objects.filter(kind="transfer").count() == 2 * total["posted"]
    assert_ledger_consistent()
