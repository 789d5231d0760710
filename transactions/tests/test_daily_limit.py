"""The daily cash-withdrawal limit: per account, per day in the bank's time zone, race-proof."""

from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings

from accounts.services import open_account
from atm_project.problems import DailyLimitExceeded
from atm_project.testing.problems import assert_problem
from atm_project.testing.racing import race
from transactions import services
from transactions.models import Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db

# Noon UTC: every test that is not about the day boundary runs far away from one.
NOON = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@contextmanager
def now_is(moment: datetime):
    """Post at a chosen moment: the ledger stamps entries and finds 'today' from timezone.now."""
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def rich_account(account_factory, user):
    return account_factory(owner=user, balance="5000.00")


def withdraw(client, account, amount: str):
    return client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": amount}, format="json"
    )


def withdraw_at(moment: datetime, account, amount: str) -> Transaction:
    with now_is(moment):
        return services.withdraw(
            account_number=account.number, amount=Decimal(amount), actor=account.owner
        )


def test_withdrawals_up_to_the_limit_pass_and_a_cent_more_is_422(auth_client, rich_account):
    with now_is(NOON):
        assert withdraw(auth_client, rich_account, "600.00").status_code == 201
        assert withdraw(auth_client, rich_account, "400.00").status_code == 201
        refused = withdraw(auth_client, rich_account, "0.01")

    body = assert_problem(refused, 422, "daily_limit_exceeded")
    assert "1000.00" in body["detail"]
    rich_account.refresh_from_db()
    assert rich_account.balance == Decimal("4000.00")


def test_one_withdrawal_over_the_limit_is_422_even_with_the_money(auth_client, rich_account):
    with now_is(NOON):
        response = withdraw(auth_client, rich_account, "1000.01")
    assert_problem(response, 422, "daily_limit_exceeded")


def test_transfers_are_not_cash_and_do_not_count(auth_client, rich_account, other_account):
    with now_is(NOON):
        transfer = auth_client.post(
            "/api/v1/transfers/",
            {
                "from_account": rich_account.number,
                "to_account": other_account.number,
                "amount": "2000.00",
            },
            format="json",
        )
        assert transfer.status_code == 201
        assert withdraw(auth_client, rich_account, "1000.00").status_code == 201


def test_deposits_do_not_raise_the_limit(auth_client, rich_account):
    with now_is(NOON):
        assert withdraw(auth_client, rich_account, "1000.00").status_code == 201
        auth_client.post(
            f"/api/v1/accounts/{rich_account.number}/deposit/", {"amount": "500"}, format="json"
        )
        assert withdraw(auth_client, rich_account, "1.00").status_code == 422


def test_the_limit_is_the_accounts_own(rich_account):
    type(rich_account).objects.filter(pk=rich_account.pk).update(
        daily_withdrawal_limit=Decimal("50.00")
    )
    withdraw_at(NOON, rich_account, "50.00")
    with pytest.raises(DailyLimitExceeded):
        withdraw_at(NOON, rich_account, "0.01")


def test_new_accounts_get_the_configured_default_limit(user, settings):
    settings.DEFAULT_DAILY_WITHDRAWAL_LIMIT = Decimal("250.00")
    assert open_account(owner=user).daily_withdrawal_limit == Decimal("250.00")


def test_a_reversed_withdrawal_no_longer_counts(rich_account):
    mistaken = withdraw_at(NOON, rich_account, "1000.00")
    with now_is(NOON):
        services.reverse(transaction_id=mistaken.id, actor=None, reason="ATM did not dispense")
    withdraw_at(NOON, rich_account, "1000.00")
    assert reconcile().clean


def test_the_limit_starts_afresh_the_next_day(rich_account):
    withdraw_at(datetime(2026, 6, 15, 23, 59, 59, tzinfo=UTC), rich_account, "1000.00")
    withdraw_at(datetime(2026, 6, 16, 0, 0, 0, tzinfo=UTC), rich_account, "1000.00")
    with pytest.raises(DailyLimitExceeded):
        withdraw_at(datetime(2026, 6, 16, 23, 0, tzinfo=UTC), rich_account, "0.01")


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("bank_zone", "same_bank_day"),
    [("America/New_York", True), ("UTC", False)],
)
def test_the_day_boundary_follows_the_banks_time_zone(rich_account, bank_zone, same_bank_day):
    # 18:00 and 20:00 in New York on 15 January are 23:00 on the 15th and 01:00 on the 16th in
    # UTC: one bank day in New York, two in UTC.
    evening = datetime(2026, 1, 15, 18, 0, tzinfo=NEW_YORK)
    later = datetime(2026, 1, 15, 20, 0, tzinfo=NEW_YORK)
    with override_settings(BANK_TIME_ZONE=bank_zone):
        withdraw_at(evening, rich_account, "800.00")
        if same_bank_day:
            with pytest.raises(DailyLimitExceeded):
                withdraw_at(later, rich_account, "300.00")
            # Just after midnight in New York (05:00:01 UTC) it is a new bank day.
            withdraw_at(datetime(2026, 1, 16, 0, 0, 1, tzinfo=NEW_YORK), rich_account, "1000.00")
        else:
            withdraw_at(later, rich_account, "300.00")


def test_the_bank_day_starts_at_local_midnight_across_a_dst_change():
    # 8 March 2026: New York moves from UTC-5 to UTC-4 at 02:00; midnight is still UTC-5.
    with override_settings(BANK_TIME_ZONE="America/New_York"):
        start = services.start_of_bank_day(datetime(2026, 3, 8, 22, 0, tzinfo=NEW_YORK))
    assert start == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)


@pytest.mark.django_db(transaction=True)
def test_five_racing_withdrawals_of_300_under_a_1000_limit_let_exactly_three_through(
    requires_postgres, client_for, user, account_factory
):
    account = account_factory(owner=user, balance="2000.00")

    def withdraw_300(_):
        return withdraw(client_for(user), account, "300.00")

    with now_is(NOON):
        responses = race(5, withdraw_300)

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201, 201, 201, 422, 422], [r.content for r in responses]
    for response in responses:
        if response.status_code == 422:
            assert_problem(response, 422, "daily_limit_exceeded")
    account.refresh_from_db()
    assert account.balance == Decimal("1100.00")
    assert reconcile().clean
