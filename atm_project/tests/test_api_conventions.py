"""The HTTP conventions of docs/api.md that hold on every route: problem details, status codes for
bad requests, authentication, X-Request-ID, optional trailing slashes, no trace on a 500."""

import json
import uuid
from datetime import timedelta

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from atm_project.testing.ledger import ledger_snapshot
from atm_project.testing.problems import assert_problem
from transactions import services as ledger
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def protected_requests(number: str, transaction_id: str) -> list[tuple[str, str, dict | None]]:
    """Every core endpoint that needs a signed-in customer, with a body that would succeed."""
    return [
        ("get", "/api/v1/users/me/", None),
        ("patch", "/api/v1/users/me/", {"first_name": "Eve"}),
        ("get", "/api/v1/accounts/", None),
        ("post", "/api/v1/accounts/", {}),
        ("get", f"/api/v1/accounts/{number}/", None),
        ("get", f"/api/v1/accounts/{number}/balance/", None),
        ("get", f"/api/v1/accounts/{number}/transactions/", None),
        ("post", f"/api/v1/accounts/{number}/deposit/", {"amount": "1.00"}),
        ("post", f"/api/v1/accounts/{number}/withdraw/", {"amount": "1.00"}),
        ("post", f"/api/v1/accounts/{number}/close/", None),
        ("post", "/api/v1/transfers/", {"from_account": number, "to_account": number, "amount": 1}),
        ("get", "/api/v1/transactions/", None),
        ("get", f"/api/v1/transactions/{transaction_id}/", None),
    ]


def expired_access_token(user) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(lifetime=-timedelta(seconds=1))
    return str(token)


@pytest.mark.parametrize(
    "authorization",
    [
        pytest.param(None, id="no-token"),
        pytest.param("Bearer garbage", id="garbage"),
        pytest.param("Bearer ", id="empty-bearer"),
        pytest.param("Token x.y.z", id="wrong-scheme"),
        pytest.param("expired", id="expired"),
        pytest.param("tampered", id="tampered-signature"),
    ],
)
def test_every_protected_endpoint_refuses_a_missing_or_bad_token(account, authorization):
    posted = Transaction.objects.get(account=account)
    if authorization == "expired":
        authorization = f"Bearer {expired_access_token(account.owner)}"
    elif authorization == "tampered":
        authorization = f"Bearer {AccessToken.for_user(account.owner)}x"
    client = APIClient()
    if authorization:
        client.credentials(HTTP_AUTHORIZATION=authorization)
    # "Token ..." is not our scheme, so it counts as no credentials at all.
    code = (
        "not_authenticated" if authorization in (None, "Token x.y.z") else "authentication_failed"
    )
    before = ledger_snapshot()
    for method, path, payload in protected_requests(account.number, str(posted.pk)):
        response = getattr(client, method)(path, payload, format="json")
        assert_problem(response, 401, code)
        assert response["WWW-Authenticate"].startswith("Bearer"), path
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nothing-here/",
        "/api/v1/accounts/not-a-number/",
        "/api/v1/accounts/12345/",  # too short to be an account number
        "/api/v1/accounts/1234567897/rob/",
        "/api/v2/accounts/",
        "/api/",
        "/healthz/extra",
    ],
)
def test_an_unknown_route_is_a_404_problem(auth_client, path):
    for method in ("get", "post"):
        assert_problem(getattr(auth_client, method)(path, {}, format="json"), 404, "not_found")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("delete", "/api/v1/accounts/"),
        ("put", "/api/v1/accounts/{number}/"),
        ("delete", "/api/v1/accounts/{number}/"),
        ("patch", "/api/v1/accounts/{number}/"),
        ("get", "/api/v1/accounts/{number}/deposit/"),
        ("get", "/api/v1/accounts/{number}/withdraw/"),
        ("post", "/api/v1/accounts/{number}/balance/"),
        ("post", "/api/v1/accounts/{number}/transactions/"),
        ("get", "/api/v1/transfers/"),
        ("post", "/api/v1/transactions/"),
        ("delete", "/api/v1/transactions/{transaction_id}/"),
        ("get", "/api/v1/auth/token/"),
        ("get", "/api/v1/auth/register/"),
        ("post", "/healthz"),
    ],
)
def test_a_wrong_method_is_a_405_problem_and_moves_nothing(auth_client, account, method, path):
    posted = Transaction.objects.get(account=account)
    path = path.format(number=account.number, transaction_id=posted.pk)
    before = ledger_snapshot()
    response = getattr(auth_client, method)(path, {"amount": "1.00"}, format="json")
    assert_problem(response, 405, "method_not_allowed")
    assert response["Allow"]
    assert ledger_snapshot() == before


def _money_posts(account, other_account):
    return [
        (f"/api/v1/accounts/{account.number}/deposit/", {"amount": "1.00"}),
        (f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "1.00"}),
        (
            "/api/v1/transfers/",
            {"from_account": account.number, "to_account": other_account.number, "amount": "1"},
        ),
    ]


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/plain", ""],
)
def test_a_body_that_is_not_json_is_415(
    auth_client, api_client, account, other_account, content_type
):
    before = ledger_snapshot()
    for path, payload in _money_posts(account, other_account):
        response = auth_client.generic("POST", path, json.dumps(payload), content_type)
        assert_problem(response, 415, "unsupported_media_type")
    response = api_client.generic(
        "POST", "/api/v1/auth/register/", "username=x&password=y", content_type
    )
    assert_problem(response, 415, "unsupported_media_type")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "raw", ['{"amount": ', "{'amount': '1.00'}", '{"amount": "1.00",}', "\xff", "amount=1"]
)
def test_malformed_json_is_a_400_parse_error(auth_client, api_client, account, other_account, raw):
    before = ledger_snapshot()
    for path, _ in _money_posts(account, other_account):
        response = auth_client.generic("POST", path, raw.encode("latin-1"), "application/json")
        assert_problem(response, 400, "parse_error")
    response = api_client.generic(
        "POST", "/api/v1/auth/token/", raw.encode("latin-1"), "application/json"
    )
    assert_problem(response, 400, "parse_error")
    assert ledger_snapshot() == before


@pytest.mark.parametrize("body", ["[]", '"1.00"', "null", "42"])
def test_json_that_is_not_an_object_is_400(auth_client, account, body):
    response = auth_client.generic(
        "POST", f"/api/v1/accounts/{account.number}/deposit/", body, "application/json"
    )
    assert_problem(response, 400, "validation_error")


# (method, path without the trailing slash, body, status of a success)
SLASH_OPTIONAL_ROUTES = [
    ("get", "/healthz", None, 200),
    ("get", "/api/v1/users/me", None, 200),
    ("get", "/api/v1/accounts", None, 200),
    ("post", "/api/v1/accounts", {"kind": "savings"}, 201),
    ("get", "/api/v1/accounts/{number}", None, 200),
    ("get", "/api/v1/accounts/{number}/balance", None, 200),
    ("get", "/api/v1/accounts/{number}/transactions", None, 200),
    ("post", "/api/v1/accounts/{number}/deposit", {"amount": "2.00"}, 201),
    ("post", "/api/v1/accounts/{number}/withdraw", {"amount": "1.00"}, 201),
    ("post", "/api/v1/transfers", {"from_account": "{number}", "amount": "1.00"}, 201),
    ("get", "/api/v1/transactions", None, 200),
    ("get", "/api/v1/transactions/{transaction_id}", None, 200),
]


@pytest.mark.parametrize("slash", ["", "/"], ids=["without-slash", "with-slash"])
@pytest.mark.parametrize(("method", "path", "payload", "status"), SLASH_OPTIONAL_ROUTES)
def test_routes_answer_with_and_without_a_trailing_slash(
    auth_client, account, other_account, method, path, payload, status, slash
):
    posted = Transaction.objects.get(account=account)
    fill = {"number": account.number, "transaction_id": posted.pk}
    if payload and "from_account" in payload:
        payload = {**payload, "from_account": account.number, "to_account": other_account.number}
    response = getattr(auth_client, method)(path.format(**fill) + slash, payload, format="json")
    # Never a redirect: it would turn a POST into a GET and lose the body.
    assert response.status_code == status, response.content


@pytest.mark.parametrize("slash", ["", "/"])
def test_auth_routes_answer_with_and_without_a_trailing_slash(api_client, slash):
    name = f"slash{len(slash)}"
    registered = api_client.post(
        "/api/v1/auth/register" + slash, {"username": name, "password": "blue-otter-7431"}, "json"
    )
    assert registered.status_code == 201
    tokens = api_client.post(
        "/api/v1/auth/token" + slash, {"username": name, "password": "blue-otter-7431"}, "json"
    )
    assert tokens.status_code == 200
    refreshed = api_client.post(
        "/api/v1/auth/token/refresh" + slash, {"refresh": tokens.json()["refresh"]}, "json"
    )
    assert refreshed.status_code == 200
    logout = api_client.post(
        "/api/v1/auth/logout" + slash, {"refresh": refreshed.json()["refresh"]}, "json"
    )
    assert logout.status_code == 204


@pytest.mark.parametrize(
    "sane",
    ["abc-123", "0f8e7d6c5b4a", "req.1:2_3", "x" * 128, str(uuid.UUID(int=7))],
)
def test_a_sane_x_request_id_is_echoed(auth_client, account, sane):
    ok = auth_client.get("/api/v1/accounts/", HTTP_X_REQUEST_ID=sane)
    assert ok["X-Request-ID"] == sane
    refused = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/",
        {"amount": "9999.00"},
        format="json",
        HTTP_X_REQUEST_ID=sane,
    )
    assert refused.json()["request_id"] == refused["X-Request-ID"] == sane


@pytest.mark.parametrize(
    "insane",
    ["", "has space", "x" * 129, "new\\nline", "<script>", "a;b", "ünïcode", "a/b"],
)
def test_an_insane_x_request_id_is_replaced_by_a_generated_one(api_client, insane):
    response = api_client.get("/api/v1/nothing/", HTTP_X_REQUEST_ID=insane)
    generated = response["X-Request-ID"]
    assert generated != insane
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert response.json()["request_id"] == generated


def test_every_response_gets_its_own_request_id(api_client):
    ids = {api_client.get("/healthz")["X-Request-ID"] for _ in range(5)}
    assert len(ids) == 5


@pytest.fixture
def failing_deposit(monkeypatch):
    """Make the deposit service blow up with a message full of things that must not leak."""

    def explode(**kwargs):
        raise RuntimeError('SELECT * FROM accounts_account; password="hunter2" /srv/app/secret.py')

    monkeypatch.setattr(ledger, "deposit", explode)


def test_an_unexpected_error_is_a_500_problem_without_a_trace(
    auth_client, account, failing_deposit, caplog
):
    before = ledger_snapshot()
    response = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", {"amount": "1.00"}, format="json"
    )
    body = assert_problem(response, 500, "server_error")
    text = response.content.decode()
    for leak in ("Traceback", "hunter2", "SELECT", "secret.py", "RuntimeError", 'File "'):
        assert leak not in text
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}
    # The operator still gets the whole story, tied to the request id.
    assert any(
        record.levelname == "ERROR" and record.exc_info and "hunter2" in str(record.exc_info[1])
        for record in caplog.records
    )
    assert ledger_snapshot() == before


def test_a_500_outside_drf_is_a_problem_without_a_trace(monkeypatch, db):
    def explode(*args, **kwargs):
        raise RuntimeError("password=hunter2")

    client = APIClient(raise_request_exception=False)
    # Undone before the test database is cleaned up, which needs a working cursor.
    with monkeypatch.context() as patch:
        patch.setattr("django.db.backends.utils.CursorWrapper.execute", explode)
        response = client.get("/healthz")
    assert_problem(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()


def test_healthz_is_200_without_auth(api_client):
    response = api_client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "cache": "ok"}
