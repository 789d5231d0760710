"""Accounts endpoints (docs/api.md "Accounts"): list, open, detail, balance; and no way into
anyone else's."""

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from accounts.models import Account
from accounts.numbers import is_luhn_valid
from atm_project.testing.ledger import ledger_snapshot
from atm_project.testing.problems import assert_problem

pytestmark = pytest.mark.django_db

ACCOUNTS = "/api/v1/accounts/"
MONEY = re.compile(r"^-?[0-9]+\.[0-9]{2}$")
ACCOUNT_FIELDS = {
    "number",
    "kind",
    "currency",
    "balance",
    "available_balance",
    "status",
    "daily_withdrawal_limit",
    "opened_at",
}


def test_open_account_defaults_to_an_empty_usd_checking_account(auth_client, user):
    response = auth_client.post(ACCOUNTS, {}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ACCOUNT_FIELDS
    assert body["kind"] == "checking"
    assert body["currency"] == "USD"
    assert body["balance"] == body["available_balance"] == "0.00"
    assert body["daily_withdrawal_limit"] == "1000.00"
    assert body["status"] == "active"
    assert parse_datetime(body["opened_at"]).utcoffset().total_seconds() == 0
    assert Account.objects.get(number=body["number"]).owner == user


def test_opened_account_numbers_are_10_luhn_valid_digits(auth_client):
    numbers = {auth_client.post(ACCOUNTS, {}, format="json").json()["number"] for _ in range(20)}
    assert len(numbers) == 20
    for number in numbers:
        assert re.fullmatch(r"[1-9][0-9]{9}", number), number
        assert is_luhn_valid(number), number


@pytest.mark.parametrize(("kind", "currency"), [("savings", "USD"), ("checking", "EUR")])
def test_open_account_of_a_chosen_kind_and_currency(auth_client, kind, currency):
    response = auth_client.post(ACCOUNTS, {"kind": kind, "currency": currency}, format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["kind"], response.json()["currency"]) == (kind, currency)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "internal"}, "kind"),
        ({"kind": "brokerage"}, "kind"),
        ({"currency": "XXX"}, "currency"),
        ({"currency": "usd"}, "currency"),
    ],
)
def test_open_account_with_a_bad_field_is_400(auth_client, payload, field):
    response = auth_client.post(ACCOUNTS, payload, format="json")
    assert response.status_code == 400
    assert response.json()["errors"].keys() == {field}
    assert not Account.objects.exclude(kind="internal").exists()


def test_list_shows_only_your_accounts_newest_first(auth_client, user, account_factory):
    older = account_factory(owner=user)
    newer = account_factory(owner=user, kind="savings", balance="12.30")
    account_factory()  # someone else's
    response = auth_client.get(ACCOUNTS)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"next", "previous", "results"}
    assert [item["number"] for item in body["results"]] == [newer.number, older.number]
    assert body["results"][0]["balance"] == "12.30"
    assert all(set(item) == ACCOUNT_FIELDS for item in body["results"])


def test_list_is_cursor_paginated_with_limit(auth_client, user, account_factory):
    opened = [account_factory(owner=user).number for _ in range(3)]
    first = auth_client.get(ACCOUNTS, {"limit": 2}).json()
    assert [item["number"] for item in first["results"]] == [opened[2], opened[1]]
    second = auth_client.get(first["next"]).json()
    assert [item["number"] for item in second["results"]] == [opened[0]]
    assert second["next"] is None


def test_detail_shows_the_account_with_two_decimal_money(auth_client, account):
    response = auth_client.get(f"{ACCOUNTS}{account.number}/")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == account.number
    assert body["balance"] == "500.00"
    for field in ("balance", "available_balance", "daily_withdrawal_limit"):
        assert MONEY.match(body[field]), body[field]


def test_balance_reports_the_current_balance(auth_client, account):
    auth_client.post(f"{ACCOUNTS}{account.number}/deposit/", {"amount": "0.5"}, format="json")
    response = auth_client.get(f"{ACCOUNTS}{account.number}/balance/")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"account_number", "balance", "available_balance", "currency", "as_of"}
    assert body["account_number"] == account.number
    assert body["balance"] == body["available_balance"] == "500.50"
    assert body["currency"] == "USD"
    assert parse_datetime(body["as_of"]) is not None


def test_the_banks_cash_subaccounts_are_invisible(auth_client, account):
    for cash in Account.objects.filter(kind="internal", currency="USD"):
        assert auth_client.get(f"{ACCOUNTS}{cash.number}/").status_code == 404
    listed = [item["number"] for item in auth_client.get(ACCOUNTS).json()["results"]]
    assert listed == [account.number]


# Every endpoint that names an account in its path, with a body that would succeed if it were
# the caller's own account.
FOREIGN_ACCOUNT_REQUESTS = [
    ("get", "{number}/", None),
    ("get", "{number}/balance/", None),
    ("get", "{number}/transactions/", None),
    ("post", "{number}/deposit/", {"amount": "10.00"}),
    ("post", "{number}/withdraw/", {"amount": "10.00"}),
    ("post", "{number}/close/", None),
]


@pytest.mark.parametrize(("method", "path", "payload"), FOREIGN_ACCOUNT_REQUESTS)
@pytest.mark.parametrize("whose", ["someone_elses", "nonexistent"])
def test_another_users_account_is_404_like_a_missing_one_and_nothing_moves(
    auth_client, account, other_user, account_factory, method, path, payload, whose
):
    # Empty, so that closing it would succeed if the caller were allowed to.
    target = account_factory(owner=other_user) if whose == "someone_elses" else None
    number = target.number if target else "1234567897"
    before = ledger_snapshot()
    response = getattr(auth_client, method)(ACCOUNTS + path.format(number=number), payload, "json")
    assert_problem(response, 404, "not_found")
    assert ledger_snapshot() == before


def test_404_for_someone_elses_account_says_the_same_as_for_a_missing_one(
    auth_client, other_account
):
    foreign = auth_client.get(f"{ACCOUNTS}{other_account.number}/").json()
    missing = auth_client.get(f"{ACCOUNTS}1234567897/").json()
    for body in (foreign, missing):
        body.pop("request_id")
    assert foreign == missing


def test_transfer_out_of_someone_elses_account_is_404_and_nothing_moves(
    auth_client, account, other_account
):
    before = ledger_snapshot()
    response = auth_client.post(
        "/api/v1/transfers/",
        {"from_account": other_account.number, "to_account": account.number, "amount": "10"},
        format="json",
    )
    assert_problem(response, 404, "not_found")
    assert ledger_snapshot() == before


def test_someone_elses_transactions_are_invisible(auth_client, client_for, other_account):
    other_client = client_for(other_account.owner)
    posted = other_client.post(
        f"{ACCOUNTS}{other_account.number}/withdraw/", {"amount": "1.00"}, format="json"
    ).json()
    assert auth_client.get(f"/api/v1/transactions/{posted['id']}/").status_code == 404
    listed = auth_client.get("/api/v1/transactions/", {"account": other_account.number}).json()
    assert listed["results"] == []
    assert auth_client.get("/api/v1/transactions/").json()["results"] == []


def test_account_balance_never_goes_below_zero_in_the_database(account):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=account.pk).update(balance=Decimal("-0.01"))
