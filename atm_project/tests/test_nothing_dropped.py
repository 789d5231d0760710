"""Nothing a client sends is silently dropped or guessed: fields an operation does not define,
bodies sent chunked, a blank `?format=`, a Host this server does not serve."""

import http.client
import json
import uuid

import pytest
from drf_spectacular.generators import SchemaGenerator

from accounts.tests.factories import issue_test_card
from atm_project.serializers import UNKNOWN_FIELD
from atm_project.testing.clients import atm_session
from atm_project.testing.ledger import ledger_snapshot
from atm_project.testing.live_server import open_funded_account, register, sign_in
from atm_project.testing.problems import assert_problem

pytestmark = pytest.mark.django_db

WRITES = {"post", "put", "patch"}
# Operations that only an ATM session (card + PIN) may call.
ATM_ONLY = {("post", "/api/v1/auth/card/extend/")}


def body_taking_operations() -> list[tuple[str, str, dict]]:
    """(method, path template, the operation's documented example body) of every write."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method not in WRITES:
                continue
            content = operation.get("requestBody", {}).get("content", {})
            example = content.get("application/json", {}).get("examples", {}).get("example", {})
            operations.append((method, path, example.get("value") or {}))
    return operations


@pytest.mark.parametrize(("method", "path", "example"), body_taking_operations())
def test_every_write_refuses_a_field_it_does_not_define(
    method, path, example, auth_client, account, settings
):
    settings.RATELIMIT_ENABLE = False
    client = auth_client
    if (method, path) in ATM_ONLY:
        client = atm_session(issue_test_card(account))
    url = path.format(number=account.number, id=uuid.uuid4(), pk=uuid.uuid4())
    before = ledger_snapshot()

    response = getattr(client, method)(url, {**example, "surprise": 1}, format="json")

    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"]["surprise"] == [UNKNOWN_FIELD], (method, path)
    assert ledger_snapshot() == before


def test_a_blank_format_is_refused_not_taken_for_the_default(auth_client, account):
    response = auth_client.get(f"/api/v1/accounts/{account.number}/", {"format": ""})
    problem = assert_problem(response, 400, "validation_error")
    assert problem["errors"] == {"format": ["May not be blank."]}


def test_a_host_this_server_does_not_serve_is_a_problem_document(api_client):
    response = api_client.get("/api/v1/accounts/", HTTP_HOST="evil.example")
    problem = assert_problem(response, 400, "validation_error")
    assert list(problem["errors"]) == ["Host"]


@pytest.mark.server
def test_a_body_sent_chunked_is_read_like_any_other(gunicorn_server):
    server = gunicorn_server(workers=1)
    register(server, "chunky", "blue-otter-7431")
    token = sign_in(server, "chunky", "blue-otter-7431")
    connection = http.client.HTTPConnection(server.url.removeprefix("http://"), timeout=30)
    try:
        connection.request(
            "POST",
            "/api/v1/accounts/",
            body=iter([b'{"currency":', b' "EUR"}']),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = connection.getresponse()
        opened = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 201, opened
    assert opened["currency"] == "EUR"
    # The usual path still works beside it.
    assert open_funded_account(server, token, deposit="5.00")
