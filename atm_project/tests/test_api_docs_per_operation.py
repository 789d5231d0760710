"""The API docs a client developer can trust: each operation lists the problems it can really
answer with, each with a real example; tags per resource; realistic request examples; patterns
that say what is refused; no internals in the text."""

import json
import re
from decimal import Decimal

import pytest

from accounts.cards import pin_problem, trivially_weak_pins
from atm_project.fields import amount_pattern
from atm_project.schema import PROBLEMS

pytestmark = pytest.mark.django_db

PUBLIC = [
    ("get", "/api/v1/"),
    ("post", "/api/v1/auth/register/"),
    ("post", "/api/v1/auth/token/"),
    ("post", "/api/v1/auth/card/"),
    ("post", "/api/v1/auth/password/reset/"),
]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        return APIClient().get("/api/schema/", {"format": "json"}).json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in {"get", "post", "put", "patch", "delete"}:
                yield method, path, operation


def test_every_problem_response_has_a_real_example_per_code(schema):
    for method, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if not status.startswith(("4", "5")) or path == "/healthz":
                continue
            examples = response["content"]["application/problem+json"].get("examples", {})
            assert examples, (method, path, status)
            for code, example in examples.items():
                body = example["value"]
                assert body["status"] == int(status) == PROBLEMS[code].status, (path, code)
                assert body["code"] == code
                assert body["type"].endswith(code.replace("_", "-"))
                assert body["detail"] and body["request_id"]


def test_successes_are_never_documented_as_problem_documents(schema):
    for _, path, operation in operations(schema):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                assert "application/problem+json" not in response.get("content", {}), path


@pytest.mark.parametrize(("method", "path"), PUBLIC)
def test_public_operations_do_not_list_401_or_403(schema, method, path):
    responses = schema["paths"][path][method]["responses"]
    if path in ("/api/v1/auth/token/", "/api/v1/auth/card/"):
        # Wrong credentials are a 401 of their own, never "no token".
        assert list(responses["401"]["content"]["application/problem+json"]["examples"]) == [
            "authentication_failed"
        ]
    else:
        assert "401" not in responses
    assert "403" not in responses


def test_reads_without_input_do_not_list_input_problems(schema):
    responses = schema["paths"]["/api/v1/accounts/{number}/balance/"]["get"]["responses"]
    assert {"400", "413", "415", "429"}.isdisjoint(responses)
    assert {"401", "403", "404"} <= set(responses)


def test_money_operations_name_their_domain_codes(schema):
    def codes(path, status):
        response = schema["paths"][path]["post"]["responses"][status]
        return set(response["content"]["application/problem+json"]["examples"])

    withdraw = "/api/v1/accounts/{number}/withdraw/"
    deposit = "/api/v1/accounts/{number}/deposit/"
    assert {"insufficient_funds", "daily_limit_exceeded"} <= codes(withdraw, "422")
    assert codes(deposit, "422") == {"idempotency_key_reused"}
    assert {"account_not_active", "idempotency_key_in_use"} <= codes(deposit, "409")
    assert "card_blocked" in codes("/api/v1/auth/card/", "423")


def test_token_sign_in_documents_its_200_body(schema):
    ok = schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]["200"]
    body = ok["content"]["application/json"]["schema"]
    assert set(body["required"]) == {"access", "refresh"}


def test_operations_are_tagged_per_resource(schema):
    tags = {path: op["tags"] for _, path, op in operations(schema)}
    assert tags["/api/v1/auth/token/"] == ["Authentication"]
    assert tags["/api/v1/auth/card/"] == ["ATM sessions"]
    assert tags["/api/v1/transfers/"] == ["Money movement"]
    assert tags["/api/v1/accounts/{number}/statement/"] == ["History"]
    assert tags["/api/v1/accounts/"] == ["Accounts"]
    assert {tag["name"] for tag in schema["tags"]} >= {tag[0] for tag in tags.values()}


def test_request_bodies_have_realistic_examples(schema):
    for method, path, operation in operations(schema):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None or path == "/api/v1/auth/card/extend/":
            continue
        assert "example" in body.get("examples", {}), (method, path)
    transfer = schema["paths"]["/api/v1/transfers/"]["post"]["requestBody"]["content"]
    assert transfer["application/json"]["examples"]["example"]["value"]["amount"] == "10.50"


def test_filters_are_described(schema):
    for name in ("account", "kind", "created_after", "created_before", "limit", "cursor"):
        (parameter,) = [
            p
            for p in schema["paths"]["/api/v1/transactions/"]["get"]["parameters"]
            if p["name"] == name
        ]
        assert len(parameter["description"]) > 10, name


def test_no_internals_leak_into_the_text(schema):
    text = json.dumps(schema)
    for internal in ("simplejwt", "django", "Streamed", "serializer"):
        assert internal.lower() not in text.lower(), internal


def test_the_amount_pattern_refuses_zero_and_amounts_over_the_maximum(settings):
    pattern = re.compile(amount_pattern(Decimal("1000000.00")))
    for accepted in ("0.01", "0.5", "1", "20", "12.50", "999999.99", "1000000", "1000000.00"):
        assert pattern.fullmatch(accepted), accepted
    for refused in ("0", "0.00", "00.5", "007", "1000000.01", "1000001", "1.234", "-5", ""):
        assert not pattern.fullmatch(refused), refused


def test_the_schema_lists_exactly_the_weak_pins_the_bank_refuses():
    weak = set(trivially_weak_pins())
    six_digit_samples = [f"{n:06d}" for n in range(0, 10**6, 7)]
    candidates = [f"{n:04d}" for n in range(10**4)] + [f"{n:05d}" for n in range(10**5)]
    for pin in candidates + six_digit_samples + [p for p in weak if len(p) == 6]:
        assert (pin in weak) == (pin_problem(pin) is not None), pin


def test_the_schema_pin_rule_is_published(schema):
    pin = schema["components"]["schemas"]["CardIssueRequest"]["properties"]["pin"]
    assert "1234" in pin["not"]["enum"] and "0000" in pin["not"]["enum"]
