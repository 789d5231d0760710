"""Money movement over HTTP: deposit, withdraw, transfer, every bad amount, lists and history."""

import json
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CASH_SUBACCOUNTS
from atm_project.testing.clients import account_url
from atm_project.testing.ledger import balance_of, cash_subaccount_of, ledger_snapshot
from atm_project.testing.problems import assert_problem
from transactions import services
from transactions.models import Entry, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db

TRANSFERS = "/api/v1/transfers/"
TRANSACTIONS = "/api/v1/transactions/"


# ---------------------------------------------------------------- deposits and withdrawals


def test_deposit_adds_to_the_balance_and_answers_the_transaction(auth_client, account):
    response = auth_client.post(
        account_url(account, "deposit"),
        {"amount": "100.25", "description": "Birthday"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {
        "id",
        "kind",
        "amount",
        "currency",
        "status",
        "description",
        "created_at",
        "account_number",
        "balance_after",
    }
    assert (body["kind"], body["amount"], body["currency"]) == ("deposit", "100.25", "USD")
    assert (body["status"], body["description"]) == ("posted", "Birthday")
    assert body["balance_after"] == "600.25"
    assert body["account_number"] == account.number
    assert balance_of(account) == Decimal("600.25")
    assert reconcile().clean


def test_deposit_posts_against_the_cash_subaccount_of_the_accounts_shard(auth_client, account):
    response = auth_client.post(account_url(account, "deposit"), {"amount": 40}, format="json")
    legs = Entry.objects.filter(transaction_id=response.json()["id"])
    cash = cash_subaccount_of(account)
    assert cash.cash_shard == account.pk % CASH_SUBACCOUNTS
    assert {(leg.account_id, leg.amount) for leg in legs} == {
        (account.pk, Decimal("40.00")),
        (cash.pk, Decimal("-40.00")),
    }


def test_withdraw_takes_from_the_balance(auth_client, account):
    response = auth_client.post(account_url(account, "withdraw"), {"amount": 120}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["kind"], body["amount"], body["balance_after"]) == (
        "withdrawal",
        "120.00",
        "380.00",
    )
    assert balance_of(account) == Decimal("380.00")
    assert reconcile().clean


def test_withdraw_the_whole_balance_leaves_zero(auth_client, account):
    response = auth_client.post(account_url(account, "withdraw"), {"amount": "500"}, format="json")
    assert response.status_code == 201
    assert response.json()["balance_after"] == "0.00"
    assert balance_of(account) == Decimal("0.00")


def test_withdraw_more_than_balance_is_refused_and_moves_nothing(auth_client, account):
    before = ledger_snapshot()
    response = auth_client.post(
        account_url(account, "withdraw"), {"amount": "500.01"}, format="json"
    )
    body = assert_problem(response, 422, "insufficient_funds")
    assert "500.00" in body["detail"]
    assert "errors" not in body
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("amount", "shown"),
    [("5", "5.00"), ("5.00", "5.00"), ("5.5", "5.50"), ("5.50", "5.50"), ("0.01", "0.01")]
    + [(f"<{number}>", shown) for number, shown in [(5, "5.00"), (5.5, "5.50"), ("1e2", "100.00")]],
)
def test_amounts_are_answered_as_two_decimal_strings(auth_client, account, amount, shown):
    # "<...>" marks a bare JSON number, spliced in as written (json.dumps would go via float).
    literal = amount[1:-1] if amount.startswith("<") else json.dumps(amount)
    response = auth_client.post(
        account_url(account, "deposit"), f'{{"amount": {literal}}}', content_type="application/json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["amount"] == shown
    assert response.json()["balance_after"] == f"{Decimal('500.00') + Decimal(shown):.2f}"


def test_the_maximum_amount_is_accepted(auth_client, account, settings):
    settings.MAX_TRANSACTION_AMOUNT = Decimal("1000000.00")
    response = auth_client.post(
        account_url(account, "deposit"), {"amount": "1000000.00"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["balance_after"] == "1000500.00"


# Raw JSON bodies, because several of these cannot be produced by json.dumps.
BAD_AMOUNT_BODIES = [
    pytest.param('{"amount": "NaN"}', "validation_error", id="NaN-string"),
    pytest.param('{"amount": NaN}', "parse_error", id="NaN-bare"),
    pytest.param('{"amount": "Infinity"}', "validation_error", id="Infinity-string"),
    pytest.param('{"amount": Infinity}', "parse_error", id="Infinity-bare"),
    pytest.param('{"amount": -Infinity}', "parse_error", id="minus-Infinity-bare"),
    pytest.param('{"amount": true}', "validation_error", id="true"),
    pytest.param('{"amount": false}', "validation_error", id="false"),
    pytest.param('{"amount": 1e400}', "validation_error", id="1e400"),
    pytest.param('{"amount": "1e400"}', "validation_error", id="1e400-string"),
    pytest.param('{"amount": 1e-3}', "validation_error", id="exponent-3-places"),
    pytest.param('{"amount": "1,000"}', "validation_error", id="thousands-comma"),
    pytest.param('{"amount": " 5"}', "validation_error", id="leading-space"),
    pytest.param('{"amount": "5 "}', "validation_error", id="trailing-space"),
    pytest.param('{"amount": "+5"}', "validation_error", id="plus-sign"),
    pytest.param('{"amount": "0x10"}', "validation_error", id="hex"),
    pytest.param('{"amount": [5]}', "validation_error", id="array"),
    pytest.param('{"amount": {"value": 5}}', "validation_error", id="object"),
    pytest.param('{"amount": 0}', "validation_error", id="zero"),
    pytest.param('{"amount": "0.00"}', "validation_error", id="zero-string"),
    pytest.param('{"amount": -5}', "validation_error", id="negative"),
    pytest.param('{"amount": "-5.00"}', "validation_error", id="negative-string"),
    pytest.param('{"amount": "1.001"}', "validation_error", id="3-decimals-string"),
    pytest.param('{"amount": 1.001}', "validation_error", id="3-decimals-number"),
    pytest.param('{"amount": 0.001}', "validation_error", id="below-a-cent"),
    pytest.param('{"amount": "1000000.01"}', "validation_error", id="above-maximum"),
    pytest.param('{"amount": 99999999999999999999}', "validation_error", id="huge-integer"),
    pytest.param('{"amount": ""}', "validation_error", id="empty-string"),
    pytest.param('{"amount": null}', "validation_error", id="null"),
    pytest.param("{}", "validation_error", id="missing"),
]


def _bad_amount_requests(account, other_account):
    """(path, extra fields) of every endpoint that takes an amount."""
    return [
        (account_url(account, "deposit"), {}),
        (account_url(account, "withdraw"), {}),
        (TRANSFERS, {"from_account": account.number, "to_account": other_account.number}),
    ]


@pytest.mark.parametrize(("raw_body", "code"), BAD_AMOUNT_BODIES)
def test_every_bad_amount_is_400_and_moves_nothing(
    auth_client, account, other_account, raw_body, code
):
    before = ledger_snapshot()
    for path, extra in _bad_amount_requests(account, other_account):
        # Splice the other fields in front of the raw amount text.
        prefix = json.dumps(extra)[1:-1]
        body = "{" + prefix + ("," if prefix and raw_body != "{}" else "") + raw_body[1:]
        response = auth_client.post(path, body, content_type="application/json")
        problem = assert_problem(response, 400, code)
        if code == "validation_error":
            assert list(problem["errors"]) == ["amount"], (path, problem)
    assert ledger_snapshot() == before


def test_an_amount_over_a_lowered_maximum_is_400(auth_client, account, settings):
    settings.MAX_TRANSACTION_AMOUNT = Decimal("100.00")
    response = auth_client.post(account_url(account, "deposit"), {"amount": "100.01"}, "json")
    assert assert_problem(response, 400, "validation_error")["errors"]["amount"]
    ok = auth_client.post(account_url(account, "deposit"), {"amount": "100.00"}, "json")
    assert ok.status_code == 201


def test_a_description_over_255_characters_is_400(auth_client, account):
    response = auth_client.post(
        account_url(account, "deposit"), {"amount": "1", "description": "x" * 256}, "json"
    )
    assert "description" in assert_problem(response, 400, "validation_error")["errors"]


# ---------------------------------------------------------------- transfers


def test_transfer_moves_money_between_accounts(auth_client, account, other_account):
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": other_account.number, "amount": 50},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["kind"] == "transfer"
    assert (body["from_account"], body["to_account"]) == (account.number, other_account.number)
    assert "account_number" not in body
    assert body["balance_after"] == "450.00"
    assert balance_of(other_account) == Decimal("350.00")
    assert Transaction.objects.get(pk=body["id"]).entries.count() == 2
    assert reconcile().clean


def test_transfer_to_the_same_account_is_400(auth_client, account):
    before = ledger_snapshot()
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": account.number, "amount": "1"},
        format="json",
    )
    assert "to_account" in assert_problem(response, 400, "validation_error")["errors"]
    assert ledger_snapshot() == before


def test_transfer_to_an_unknown_account_is_400_on_to_account(auth_client, account):
    before = ledger_snapshot()
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": "1234567897", "amount": "1"},
        format="json",
    )
    problem = assert_problem(response, 400, "validation_error")
    assert list(problem["errors"]) == ["to_account"]
    assert ledger_snapshot() == before


def test_transfer_to_a_banks_cash_sub_account_is_400_like_an_unknown_one(auth_client, account):
    cash = cash_subaccount_of(account)
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": cash.number, "amount": "1"},
        format="json",
    )
    assert list(assert_problem(response, 400, "validation_error")["errors"]) == ["to_account"]


def test_transfer_between_currencies_is_422(auth_client, user, account, account_factory):
    euros = account_factory(owner=user, currency="EUR")
    before = ledger_snapshot()
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": euros.number, "amount": "1"},
        format="json",
    )
    assert_problem(response, 422, "currency_mismatch")
    assert ledger_snapshot() == before


def test_transfer_of_more_than_the_balance_is_422(auth_client, account, other_account):
    before = ledger_snapshot()
    response = auth_client.post(
        TRANSFERS,
        {"from_account": account.number, "to_account": other_account.number, "amount": "500.01"},
        format="json",
    )
    assert_problem(response, 422, "insufficient_funds")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        ({"amount": "1"}, {"from_account", "to_account"}),
        ({"from_account": "12345", "to_account": "1234567897", "amount": "1"}, {"from_account"}),
        ({"from_account": "1234567897", "to_account": "abcdefgh", "amount": "1"}, {"to_account"}),
        ({"from_account": 1234567897, "to_account": "x" * 21, "amount": "1"}, {"to_account"}),
    ],
)
def test_transfer_with_bad_account_fields_is_400(auth_client, account, payload, fields):
    response = auth_client.post(TRANSFERS, payload, format="json")
    assert fields <= set(assert_problem(response, 400, "validation_error")["errors"])


# ---------------------------------------------------------------- transactions list and detail


@pytest.fixture
def activity(auth_client, client_for, user, account, other_account, account_factory):
    """A deposit, a withdrawal, a transfer out and one in, at known moments."""
    savings = account_factory(owner=user, kind="savings")
    moments = [timezone.now()]

    def post(path, payload, client=auth_client):
        response = client.post(path, payload, format="json")
        assert response.status_code == 201, response.content
        moments.append(timezone.now())
        return response.json()["id"]

    deposit = post(account_url(account, "deposit"), {"amount": "10"})
    withdrawal = post(account_url(account, "withdraw"), {"amount": "20"})
    transfer = post(
        TRANSFERS,
        {"from_account": account.number, "to_account": savings.number, "amount": "30"},
    )
    incoming = post(
        TRANSFERS,
        {"from_account": other_account.number, "to_account": account.number, "amount": "40"},
        client=client_for(other_account.owner),
    )
    return {
        "account": account,
        "savings": savings,
        "other_account": other_account,
        "ids": {"deposit": deposit, "withdrawal": withdrawal, "out": transfer, "in": incoming},
        "moments": moments,
    }


def _ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_transactions_list_shows_yours_newest_first(auth_client, activity, account):
    ids = activity["ids"]
    funding = Transaction.objects.get(account=account, description="Test funding").pk
    assert _ids(auth_client.get(TRANSACTIONS)) == [
        ids["in"],
        ids["out"],
        ids["withdrawal"],
        ids["deposit"],
        str(funding),
    ]


def test_an_incoming_transfer_shows_the_viewers_own_balance(auth_client, activity):
    body = auth_client.get(f"{TRANSACTIONS}{activity['ids']['in']}/").json()
    assert body["amount"] == "40.00"
    # The source belongs to someone else: the viewer sees their own balance after it.
    assert body["balance_after"] == "500.00"


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"kind": "transfer"}, ["in", "out"]),
        ({"kind": "withdrawal"}, ["withdrawal"]),
        ({"limit": 2}, ["in", "out"]),
    ],
)
def test_transactions_list_filters(auth_client, activity, query, expected):
    assert _ids(auth_client.get(TRANSACTIONS, query)) == [activity["ids"][k] for k in expected]


def test_transactions_list_filters_by_account(auth_client, activity):
    ids = activity["ids"]
    response = auth_client.get(TRANSACTIONS, {"account": activity["savings"].number})
    assert _ids(response) == [ids["out"]]


def test_transactions_list_filters_by_time(auth_client, activity):
    ids, moments = activity["ids"], activity["moments"]
    # moments[i] lies between the i-th and (i+1)-th posting of the fixture.
    window = {"created_after": moments[1].isoformat(), "created_before": moments[3].isoformat()}
    assert _ids(auth_client.get(TRANSACTIONS, window)) == [ids["out"], ids["withdrawal"]]
    after = {"created_after": moments[3].isoformat()}
    assert _ids(auth_client.get(TRANSACTIONS, after)) == [ids["in"]]


def test_transactions_list_pages_with_a_cursor(auth_client, activity, account):
    ids = activity["ids"]
    funding = str(Transaction.objects.get(account=account, description="Test funding").pk)
    first = auth_client.get(TRANSACTIONS, {"limit": 3}).json()
    second = auth_client.get(first["next"]).json()
    assert [item["id"] for item in first["results"]] == [ids["in"], ids["out"], ids["withdrawal"]]
    assert [item["id"] for item in second["results"]] == [ids["deposit"], funding]
    assert second["next"] is None
    assert second["previous"] is not None


@pytest.mark.parametrize(
    "query",
    [
        {"kind": "loan"},
        {"created_after": "yesterday"},
        {"created_before": "2026-13-01"},
        {"account": "12ab"},
        {"limit": 0},
        {"limit": -1},
        {"limit": "ten"},
    ],
)
def test_transactions_list_with_a_bad_filter_is_400(auth_client, query):
    response = auth_client.get(TRANSACTIONS, query)
    assert set(assert_problem(response, 400, "validation_error")["errors"]) == set(query)


def test_transaction_detail(auth_client, activity, account):
    response = auth_client.get(f"{TRANSACTIONS}{activity['ids']['withdrawal']}/")
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == activity["ids"]["withdrawal"]
    assert (body["kind"], body["amount"], body["account_number"]) == (
        "withdrawal",
        "20.00",
        account.number,
    )
    assert body["balance_after"] == "490.00"


@pytest.mark.parametrize("tail", ["00000000-0000-0000-0000-000000000000/", "not-a-uuid/"])
def test_transaction_detail_of_an_unknown_id_is_404(auth_client, tail):
    assert_problem(auth_client.get(TRANSACTIONS + tail), 404, "not_found")


# ---------------------------------------------------------------- account history


def test_history_lists_signed_entries_newest_first(auth_client, activity, account):
    response = auth_client.get(account_url(account, "transactions"))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(e["kind"], e["amount"], e["balance_after"]) for e in results] == [
        ("transfer", "40.00", "500.00"),
        ("transfer", "-30.00", "460.00"),
        ("withdrawal", "-20.00", "490.00"),
        ("deposit", "10.00", "510.00"),
        ("deposit", "500.00", "500.00"),
    ]
    assert set(results[0]) == {
        "transaction_id",
        "kind",
        "amount",
        "balance_after",
        "description",
        "created_at",
        "counterparty",
    }
    assert results[0]["counterparty"] == activity["other_account"].number
    assert results[1]["counterparty"] == activity["savings"].number
    assert results[2]["counterparty"] is None  # the bank's cash side is not shown
    assert results[2]["transaction_id"] == activity["ids"]["withdrawal"]


def test_history_next_page_continues_where_the_first_ended(auth_client, user, account_factory):
    account = account_factory(owner=user)
    for cents in range(1, 8):
        auth_client.post(account_url(account, "deposit"), {"amount": f"0.0{cents}"}, "json")
    seen, url, pages = [], account_url(account, "transactions") + "?limit=3", 0
    while url:
        page = auth_client.get(url).json()
        seen += [entry["amount"] for entry in page["results"]]
        url, pages = page["next"], pages + 1
    assert pages == 3
    assert seen == [f"0.0{cents}" for cents in range(7, 0, -1)]


def test_history_limit_is_1_to_100_and_larger_pages_are_capped(auth_client, user, account_factory):
    account = account_factory(owner=user)
    for _ in range(100):  # with the funding-free opening: 101 entries after the one below
        services.deposit(account_number=account.number, amount=Decimal("1.00"), actor=user)
    services.withdraw(account_number=account.number, amount=Decimal("1.00"), actor=user)
    url = account_url(account, "transactions")
    for limit, size in [(1, 1), (20, 20), (100, 100), (101, 100), (5000, 100)]:
        assert len(auth_client.get(url, {"limit": limit}).json()["results"]) == size, limit
    assert len(auth_client.get(url).json()["results"]) == 20  # the default


@pytest.mark.parametrize("limit", [0, -3, "many", ""])
def test_history_limit_below_1_is_400(auth_client, account, limit):
    response = auth_client.get(account_url(account, "transactions"), {"limit": limit})
    assert list(assert_problem(response, 400, "validation_error")["errors"]) == ["limit"]


def test_history_filters_by_kind_and_time(auth_client, activity, account):
    moments = activity["moments"]
    url = account_url(account, "transactions")

    def kinds(query):
        return [(e["kind"], e["amount"]) for e in auth_client.get(url, query).json()["results"]]

    assert kinds({"kind": "deposit"}) == [("deposit", "10.00"), ("deposit", "500.00")]
    window = {"created_after": moments[1].isoformat(), "created_before": moments[3].isoformat()}
    assert kinds(window) == [("transfer", "-30.00"), ("withdrawal", "-20.00")]
    assert kinds({"kind": "transfer", "created_after": moments[3].isoformat()}) == [
        ("transfer", "40.00")
    ]


@pytest.mark.parametrize("query", [{"kind": "loan"}, {"created_after": "soon"}])
def test_history_with_a_bad_filter_is_400(auth_client, account, query):
    response = auth_client.get(account_url(account, "transactions"), query)
    assert set(assert_problem(response, 400, "validation_error")["errors"]) == set(query)


@pytest.mark.parametrize("action", ["deposit", "withdraw"])
def test_options_describes_the_body_of_a_movement(auth_client, account, action):
    response = auth_client.options(f"/api/v1/accounts/{account.number}/{action}/")
    assert response.status_code == 200, response.content
    assert set(response.json()["actions"]["POST"]) == {"amount", "description"}
