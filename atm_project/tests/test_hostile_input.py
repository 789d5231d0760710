"""Inputs a client should never send still get a problem document, never a 500."""

import base64
import json
from urllib.parse import quote

import pytest

from accounts.models import Account
from atm_project.testing.problems import assert_problem

pytestmark = pytest.mark.django_db


def forged_cursor(query: str) -> str:
    return quote(base64.b64encode(query.encode()).decode())


@pytest.mark.parametrize(
    "body",
    ['{"amount":' + '{"a":' * 5000 + "1" + "}" * 5000 + "}", "[" * 3000 + "]" * 3000],
    ids=["deep-object", "deep-array"],
)
def test_json_nested_deeper_than_the_parser_can_go_is_a_parse_error(auth_client, account, body):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", data=body, content_type="application/json"
    )
    assert_problem(response, 400, "parse_error")
    account.refresh_from_db()
    assert str(account.balance) == "500.00"


@pytest.mark.parametrize("position", ["abc", "99999999999999999999999"])
def test_a_forged_history_cursor_is_not_found(auth_client, account, position):
    cursor = forged_cursor(f"p={position}")
    response = auth_client.get(f"/api/v1/accounts/{account.number}/transactions/?cursor={cursor}")
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("query", ["p=notadate", "o=9999999999999999999&p=123"])
def test_a_forged_transaction_list_cursor_is_not_found(auth_client, account, query):
    response = auth_client.get(f"/api/v1/transactions/?cursor={forged_cursor(query)}")
    assert_problem(response, 404, "not_found")


def test_a_real_cursor_still_pages(auth_client, account, client_for):
    for _ in range(3):
        auth_client.post(
            f"/api/v1/accounts/{account.number}/deposit/", {"amount": "1.00"}, format="json"
        )
    first = auth_client.get("/api/v1/transactions/?limit=2").json()
    second = auth_client.get(first["next"])
    assert second.status_code == 200
    assert len(second.json()["results"]) == 2


def test_a_statement_ending_on_the_last_representable_day_is_refused(auth_client, account):
    response = auth_client.get(
        f"/api/v1/accounts/{account.number}/statement/?from=9999-12-30&to=9999-12-31"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "to" in body["errors"]


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_healthz_answers_other_methods_with_a_405_problem(api_client, method):
    response = getattr(api_client, method)("/healthz", {"x": 1}, format="json")
    assert_problem(response, 405, "method_not_allowed")


def test_a_non_json_body_is_refused_even_where_the_body_is_ignored(auth_client, user):
    empty = Account.objects.filter(owner=user).count()
    opened = auth_client.post("/api/v1/accounts/", {}, format="json").json()["number"]
    response = auth_client.post(
        f"/api/v1/accounts/{opened}/close/", data="x", content_type="text/plain"
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert Account.objects.get(number=opened).status == Account.Status.ACTIVE
    assert Account.objects.filter(owner=user).count() == empty + 1


def test_a_bodiless_post_needs_no_content_type(auth_client, user):
    opened = auth_client.post("/api/v1/accounts/", {}, format="json").json()["number"]
    response = auth_client.generic("POST", f"/api/v1/accounts/{opened}/close/")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "closed"


def test_a_client_accepting_only_problem_documents_gets_the_real_error(auth_client):
    response = auth_client.get("/api/v1/accounts/9999999/", HTTP_ACCEPT="application/problem+json")
    assert_problem(response, 404, "not_found")


def test_daily_limit_message_shows_money_with_two_places(auth_client, account_factory, user):
    rich = account_factory(owner=user, balance="2000.00")
    url = f"/api/v1/accounts/{rich.number}/withdraw/"
    assert auth_client.post(url, {"amount": "600"}, format="json").status_code == 201
    body = assert_problem(
        auth_client.post(url, {"amount": "400.01"}, format="json"), 422, "daily_limit_exceeded"
    )
    assert "Withdrawn today 600.00;" in body["detail"]


def test_schema_documents_health_rate_limit_and_replay_headers(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    assert set(schema["paths"]["/healthz"]["get"]["responses"]) == {"200", "503"}
    transfer = schema["paths"]["/api/v1/transfers/"]["post"]["responses"]
    assert "Idempotent-Replayed" in transfer["201"]["headers"]
    assert "Retry-After" in transfer["429"]["headers"]


def test_schema_errors_are_json_problem_documents(api_client):
    response = api_client.post("/api/schema/", {}, format="json")
    assert_problem(response, 405, "method_not_allowed")


HUGE_EXPONENT = "1e9999999999999999999999"


@pytest.mark.parametrize(
    "body",
    [
        '{"amount": ' + HUGE_EXPONENT + "}",
        '{"amount": "1.00", "description": ' + HUGE_EXPONENT + "}",
        '{"amount": "-' + HUGE_EXPONENT + '"}',
        '{"amount": ' + "9" * 5000 + "}",
    ],
    ids=["amount", "other-field", "string", "long-integer"],
)
def test_a_number_no_decimal_can_hold_is_a_4xx(auth_client, account, body):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", data=body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content
    assert response["Content-Type"] == "application/problem+json"
    account.refresh_from_db()
    assert str(account.balance) == "500.00"


@pytest.mark.parametrize("charset", ["rot13", "base64", "hex", "no-such-charset"])
def test_a_json_body_in_an_encoding_that_is_not_text_is_a_parse_error(
    auth_client, account, charset
):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/",
        data=b'{"amount": "1.00"}',
        content_type=f"application/json; charset={charset}",
    )
    assert_problem(response, 400, "parse_error")
    account.refresh_from_db()
    assert str(account.balance) == "500.00"


def test_a_statement_from_the_first_day_of_the_calendar_is_refused_in_any_time_zone(
    auth_client, account, settings
):
    settings.BANK_TIME_ZONE = "Pacific/Kiritimati"  # UTC+14: its 0001-01-01 begins before UTC's
    url = f"/api/v1/accounts/{account.number}/statement/"
    body = assert_problem(
        auth_client.get(f"{url}?from=0001-01-01&to=0001-01-31"), 400, "validation_error"
    )
    assert "from" in body["errors"]
    accepted = auth_client.get(f"{url}?from=0001-01-02&to=0001-01-31")
    assert accepted.status_code == 200
    assert json.loads(b"".join(accepted.streaming_content))["opening_balance"] == "0.00"


def test_a_duplicate_json_key_is_a_parse_error_naming_it(auth_client, account):
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/",
        data='{"amount": "1.00", "amount": "900.00"}',
        content_type="application/json",
    )
    body = assert_problem(response, 400, "parse_error")
    assert '"amount"' in body["detail"]
    account.refresh_from_db()
    assert str(account.balance) == "500.00"
