"""Statements (JSON and CSV, API and command) and the mini statement."""

import csv
import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal
from unittest import mock

import pytest
from django.core.management import CommandError
from django.test import override_settings

from atm_project.testing.clients import account_url
from atm_project.testing.commands import run_command
from atm_project.testing.problems import assert_problem
from transactions import services, statements
from transactions.api import statements as rendering

pytestmark = pytest.mark.django_db


def at(moment: datetime):
    return mock.patch("django.utils.timezone.now", return_value=moment)


def utc(day: int, hour: int) -> datetime:
    return datetime(2026, 5, day, hour, 0, tzinfo=UTC)


@pytest.fixture
def ledger(user, other_user, account_factory):
    """An account with a known history over four days of May 2026 (times in UTC):

    9th 10:00 deposit 1000 | 10th 09:00 withdraw 200, 15:00 transfer out 50, 16:00 transfer in 30
    11th 08:00 deposit 5   | 12th 11:00 withdraw 100
    """
    mine = account_factory(owner=user)
    theirs = account_factory(owner=other_user, balance="100.00")
    movements = [
        (utc(9, 10), services.deposit, {"account_number": mine.number, "amount": "1000"}),
        (utc(10, 9), services.withdraw, {"account_number": mine.number, "amount": "200"}),
        (
            utc(10, 15),
            services.transfer,
            {"from_account": mine.number, "to_account": theirs.number, "amount": "50"},
        ),
        (
            utc(10, 16),
            services.transfer,
            {"from_account": theirs.number, "to_account": mine.number, "amount": "30"},
            other_user,
        ),
        (utc(11, 8), services.deposit, {"account_number": mine.number, "amount": "5"}),
        (utc(12, 11), services.withdraw, {"account_number": mine.number, "amount": "100"}),
    ]
    for moment, service, params, *actor in movements:
        params = {**params, "amount": Decimal(params["amount"])}
        with at(moment):
            service(actor=actor[0] if actor else user, description=f"at {moment:%d %H}", **params)
    return mine, theirs


def get_statement(client, account, first: str, last: str, **extra):
    return client.get(account_url(account, "statement"), {"from": first, "to": last, **extra})


def body_of(response) -> bytes:
    assert response.streaming, "statements are streamed"
    return b"".join(response.streaming_content)


def json_statement(client, account, first: str, last: str) -> dict:
    response = get_statement(client, account, first, last)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    return json.loads(body_of(response))


def test_statement_figures_add_up(auth_client, ledger):
    mine, theirs = ledger
    statement = json_statement(auth_client, mine, "2026-05-10", "2026-05-11")

    assert list(statement) == [
        "account_number",
        "from",
        "to",
        "opening_balance",
        "closing_balance",
        "total_credits",
        "total_debits",
        "entries",
    ]
    assert (statement["account_number"], statement["from"], statement["to"]) == (
        mine.number,
        "2026-05-10",
        "2026-05-11",
    )
    assert statement["opening_balance"] == "1000.00"
    assert statement["total_credits"] == "35.00"
    assert statement["total_debits"] == "250.00"
    assert statement["closing_balance"] == "785.00"
    entries = statement["entries"]
    assert [(e["kind"], e["amount"]) for e in entries] == [
        ("withdrawal", "-200.00"),
        ("transfer", "-50.00"),
        ("transfer", "30.00"),
        ("deposit", "5.00"),
    ]
    assert entries[-1]["balance_after"] == statement["closing_balance"]
    running = Decimal(statement["opening_balance"])
    for entry in entries:
        running += Decimal(entry["amount"])
        assert Decimal(entry["balance_after"]) == running
    assert entries[1]["counterparty"] == theirs.number
    assert entries[0]["counterparty"] is None


def test_entries_have_the_same_shape_as_the_history(auth_client, ledger):
    mine, _ = ledger
    statement = json_statement(auth_client, mine, "2026-05-09", "2026-05-12")
    history = auth_client.get(account_url(mine, "transactions"), {"limit": 100}).json()["results"]
    assert statement["entries"] == list(reversed(history))


@pytest.mark.parametrize(
    ("first", "last", "opening", "closing", "count"),
    [
        ("2026-05-01", "2026-05-08", "0.00", "0.00", 0),  # before the account had anything
        ("2026-05-09", "2026-05-09", "0.00", "1000.00", 1),
        ("2026-05-12", "2026-05-12", "785.00", "685.00", 1),
        ("2026-05-13", "2026-06-30", "685.00", "685.00", 0),  # after the last entry
        ("2026-05-01", "2026-05-31", "0.00", "685.00", 6),
    ],
)
def test_statement_ranges(auth_client, ledger, first, last, opening, closing, count):
    statement = json_statement(auth_client, ledger[0], first, last)
    assert (statement["opening_balance"], statement["closing_balance"]) == (opening, closing)
    assert len(statement["entries"]) == count


@override_settings(BANK_TIME_ZONE="Asia/Tokyo")
def test_statement_days_are_days_in_the_banks_time_zone(auth_client, ledger):
    # Tokyo is UTC+9: the 10th's 15:00 and 16:00 UTC transfers happen on the 11th there.
    statement = json_statement(auth_client, ledger[0], "2026-05-10", "2026-05-10")
    assert [(e["kind"], e["amount"]) for e in statement["entries"]] == [("withdrawal", "-200.00")]
    assert (statement["opening_balance"], statement["closing_balance"]) == ("1000.00", "800.00")


def test_csv_download_parses_and_matches_the_json(auth_client, ledger):
    mine, _ = ledger
    response = get_statement(auth_client, mine, "2026-05-09", "2026-05-12", format="csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"] == (
        f'attachment; filename="statement-{mine.number}-2026-05-09-2026-05-12.csv"'
    )
    rows = list(csv.DictReader(io.StringIO(body_of(response).decode())))
    entries = json_statement(auth_client, mine, "2026-05-09", "2026-05-12")["entries"]
    assert rows == [
        {column: entry[column] or "" for column in rendering.CSV_COLUMNS} for entry in entries
    ]


def test_csv_neutralises_spreadsheet_formulas_in_descriptions(auth_client, user, account):
    with at(utc(20, 12)):
        services.deposit(
            account_number=account.number,
            amount=Decimal("1"),
            actor=user,
            description='=HYPERLINK("http://evil.example","x")',
        )
    response = get_statement(auth_client, account, "2026-05-20", "2026-05-20", format="csv")
    (row,) = csv.DictReader(io.StringIO(body_of(response).decode()))
    assert row["description"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["amount"] == "1.00"


def test_an_entry_posted_while_a_statement_is_being_read_is_left_out_consistently(user, ledger):
    mine, _ = ledger
    with at(utc(12, 12)):
        statement = statements.build_statement(
            account=mine, first_day=date(2026, 5, 12), last_day=date(2026, 5, 12)
        )
    with at(utc(12, 13)):
        services.deposit(account_number=mine.number, amount=Decimal("9"), actor=user)

    document = json.loads("".join(rendering.json_chunks(statement)))

    assert [e["amount"] for e in document["entries"]] == ["-100.00"]
    assert document["closing_balance"] == document["entries"][-1]["balance_after"] == "685.00"


def test_a_long_statement_streams_in_chunks_with_a_fixed_number_of_queries(
    user, account_factory, monkeypatch, django_assert_max_num_queries
):
    account = account_factory(owner=user)
    monkeypatch.setattr(statements, "_CHUNK", 3)
    with at(utc(21, 12)):
        for _ in range(10):
            services.deposit(account_number=account.number, amount=Decimal("1"), actor=user)
    statement = statements.build_statement(
        account=account, first_day=date(2026, 5, 21), last_day=date(2026, 5, 21)
    )
    with django_assert_max_num_queries(2):
        document = json.loads("".join(rendering.json_chunks(statement)))
    assert len(document["entries"]) == 10
    assert document["closing_balance"] == document["entries"][-1]["balance_after"] == "10.00"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"to": "2026-05-10"}, "from"),
        ({"from": "2026-05-10"}, "to"),
        ({"from": "2026-13-01", "to": "2026-05-10"}, "from"),
        ({"from": "10/05/2026", "to": "2026-05-10"}, "from"),
        ({"from": "2026-05-11", "to": "2026-05-10"}, "from"),
        ({"from": "2025-01-01", "to": "2026-05-10"}, "to"),
        ({"from": "2026-05-10", "to": "2026-05-10", "format": "xml"}, "format"),
    ],
    ids=["no-from", "no-to", "bad-month", "not-iso", "from-after-to", "too-long", "bad-format"],
)
def test_a_bad_statement_query_is_400(auth_client, account, query, field):
    response = auth_client.get(account_url(account, "statement"), query)
    body = assert_problem(response, 400, "validation_error")
    assert field in body["errors"]


def test_a_bad_csv_query_is_still_a_json_problem(auth_client, account):
    response = auth_client.get(
        account_url(account, "statement"), {"from": "x", "to": "y", "format": "csv"}
    )
    assert_problem(response, 400, "validation_error")


def test_the_longest_statement_allowed_is_366_days(auth_client, account):
    assert get_statement(auth_client, account, "2024-01-01", "2024-12-31").status_code == 200


@pytest.mark.parametrize("action", ["statement", "mini-statement"])
def test_someone_elses_account_is_404(auth_client, other_account, action):
    response = auth_client.get(
        account_url(other_account, action), {"from": "2026-05-01", "to": "2026-05-02"}
    )
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("action", ["statement", "mini-statement"])
def test_statements_need_authentication(api_client, account, action):
    response = api_client.get(
        account_url(account, action), {"from": "2026-05-01", "to": "2026-05-02"}
    )
    assert response.status_code == 401


# ---------------------------------------------------------------- mini statement


def test_mini_statement_shows_the_balance_and_the_last_ten_entries(auth_client, user, account):
    for amount in range(1, 13):
        services.deposit(account_number=account.number, amount=Decimal(amount), actor=user)

    response = auth_client.get(account_url(account, "mini-statement"))

    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["account_number", "balance", "entries"]
    assert (body["account_number"], body["balance"]) == (account.number, "578.00")
    history = auth_client.get(account_url(account, "transactions"), {"limit": 10}).json()["results"]
    assert body["entries"] == history
    assert [e["amount"] for e in body["entries"]] == [f"{n}.00" for n in range(12, 2, -1)]


def test_mini_statement_of_a_new_account_is_empty(auth_client, user, account_factory):
    empty = account_factory(owner=user)
    body = auth_client.get(account_url(empty, "mini-statement")).json()
    assert (body["balance"], body["entries"]) == ("0.00", [])


# ---------------------------------------------------------------- the command


def run_statement(*args) -> str:
    return run_command("statement", *args).stdout


@pytest.mark.parametrize("output", ["json", "csv"])
def test_the_command_prints_the_same_statement_as_the_api(auth_client, ledger, output):
    mine, _ = ledger
    printed = run_statement(
        mine.number, "--from", "2026-05-10", "--to", "2026-05-12", "--format", output
    )
    served = get_statement(auth_client, mine, "2026-05-10", "2026-05-12", format=output)
    assert printed == body_of(served).decode()


def test_the_command_prints_json_by_default(ledger):
    printed = run_statement(ledger[0].number, "--from", "2026-05-10", "--to", "2026-05-10")
    assert json.loads(printed)["closing_balance"] == "780.00"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["9999999999", "--from", "2026-05-01", "--to", "2026-05-02"], "No account"),
        (["{number}", "--from", "May 1", "--to", "2026-05-02"], "not a date"),
        (["{number}", "--from", "2026-05-03", "--to", "2026-05-02"], "must not be after"),
    ],
)
def test_the_command_fails_clearly(account, args, message):
    with pytest.raises(CommandError, match=message):
        run_statement(*[arg.format(number=account.number) for arg in args])


@pytest.mark.django_db(transaction=True)
def test_a_statement_streams_from_a_server_side_cursor_outside_any_transaction(
    requires_postgres, auth_client, user, account_factory, monkeypatch
):
    # As in production: the view has returned and the body is produced in autocommit mode,
    # chunk by chunk from a PostgreSQL cursor that must survive between fetches.
    account = account_factory(owner=user)
    monkeypatch.setattr(statements, "_CHUNK", 2)
    with at(utc(22, 12)):
        for amount in range(1, 8):
            services.deposit(account_number=account.number, amount=Decimal(amount), actor=user)
    document = json_statement(auth_client, account, "2026-05-22", "2026-05-22")
    assert [e["amount"] for e in document["entries"]] == [f"{n}.00" for n in range(1, 8)]
    assert document["closing_balance"] == "28.00"


def test_the_schema_documents_both_statement_formats():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    statement = paths["/api/v1/accounts/{number}/statement/"]["get"]
    assert {"application/json", "text/csv"} <= set(statement["responses"]["200"]["content"])
    assert {"from", "to", "format"} <= {p["name"] for p in statement["parameters"]}
    assert "/api/v1/accounts/{number}/mini-statement/" in paths
