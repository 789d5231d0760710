"""OWASP API Security Top 10 (2023) as tests, one section per risk this API can have.

API1 broken object level authorization, API3 broken object property level authorization (mass
assignment), API5 broken function level authorization; API2 (authentication) lives with the rules
it tests, in users/tests/test_tokens.py, users/tests/test_passwords.py and
accounts/tests/test_card_auth.py, API4 (resource consumption) in test_throttling.py and
test_live_throttling.py, API8 (misconfiguration) in test_settings_and_headers.py. Last, no
secret reaches a log line or the audit trail.
"""

import json
import logging

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import get_resolver
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import Account
from accounts.tests.factories import issue_test_card
from atm_project.testing.clients import atm_session, token_client
from atm_project.testing.ledger import ledger_snapshot
from atm_project.testing.problems import assert_problem
from audit.models import AuditEvent
from transactions.models import Transaction
from users.mail import wait_for_outgoing_mail
from users.tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

User = get_user_model()
NO_SUCH_ACCOUNT = "1234567897"
NO_SUCH_TRANSACTION = "00000000-0000-4000-8000-000000000000"


# --- API1: broken object level authorization -----------------------------------------------------

# (method, path, body) for every route that names an object; {account}/{transaction} are the
# victim's, {mine} is the attacker's own account (the target of a transfer).
OBJECT_ROUTES = [
    ("get", "/api/v1/accounts/{account}/", None),
    ("get", "/api/v1/accounts/{account}/balance/", None),
    ("get", "/api/v1/accounts/{account}/transactions/", None),
    ("get", "/api/v1/accounts/{account}/mini-statement/", None),
    ("get", "/api/v1/accounts/{account}/statement/", None),
    ("post", "/api/v1/accounts/{account}/deposit/", {"amount": "10.00"}),
    ("post", "/api/v1/accounts/{account}/withdraw/", {"amount": "10.00"}),
    ("post", "/api/v1/accounts/{account}/close/", {}),
    ("post", "/api/v1/accounts/{account}/cards/", {"pin": "917305"}),
    ("get", "/api/v1/transactions/{transaction}/", None),
    (
        "post",
        "/api/v1/transfers/",
        {"from_account": "{account}", "to_account": "{mine}", "amount": "10.00"},
    ),
]
OTHER_VERBS = ["put", "patch", "delete"]


def fill(template, **values):
    if template is None:
        return None
    text = json.dumps(template) if not isinstance(template, str) else template
    for name, value in values.items():
        text = text.replace("{" + name + "}", value)
    return json.loads(text) if not isinstance(template, str) else text


def without_request_id(response) -> dict:
    body = response.json()
    body.pop("request_id", None)
    return body


@pytest.fixture
def victim_account(other_account):
    """Someone else's funded account (the attacker is `user`, signed in as `auth_client`)."""
    return other_account


@pytest.fixture
def victim_transaction(victim_account):
    return Transaction.objects.filter(account=victim_account).latest("created_at")


@pytest.mark.parametrize(("method", "template", "body"), OBJECT_ROUTES)
def test_someone_elses_object_is_404_exactly_like_a_missing_one(
    auth_client, account, victim_account, victim_transaction, method, template, body
):
    before = ledger_snapshot()
    victims = {"account": victim_account.number, "transaction": str(victim_transaction.id)}
    missing = {"account": NO_SUCH_ACCOUNT, "transaction": NO_SUCH_TRANSACTION}

    responses = []
    for values in (victims, missing):
        path = fill(template, **values)
        data = fill(body, mine=account.number, **values)
        responses.append(getattr(auth_client, method)(path, data, format="json"))

    theirs, nobodys = responses
    assert_problem(theirs, 404, "not_found")
    assert without_request_id(theirs) == without_request_id(nobodys)
    assert ledger_snapshot() == before


@pytest.mark.parametrize("verb", OTHER_VERBS)
@pytest.mark.parametrize("template", sorted({route[1] for route in OBJECT_ROUTES}))
def test_other_verbs_on_someone_elses_object_change_nothing(
    auth_client, victim_account, victim_transaction, verb, template
):
    before = ledger_snapshot()
    path = fill(template, account=victim_account.number, transaction=str(victim_transaction.id))
    response = getattr(auth_client, verb)(path, {"balance": "0.00"}, format="json")
    # The method is refused before any object is looked up: no hint whether it exists.
    assert_problem(response, 405, "method_not_allowed")
    assert ledger_snapshot() == before


def test_lists_show_only_your_own_objects(auth_client, account, victim_account):
    accounts = auth_client.get("/api/v1/accounts/").json()["results"]
    assert [item["number"] for item in accounts] == [account.number]
    transactions = auth_client.get("/api/v1/transactions/").json()["results"]
    assert transactions
    assert {item["account_number"] for item in transactions} == {account.number}
    # Filtering by someone else's account finds nothing, as for an account of nobody's.
    filtered = auth_client.get("/api/v1/transactions/", {"account": victim_account.number})
    assert filtered.status_code == 200, filtered.content
    assert filtered.json()["results"] == []


def atm_session_for(account) -> APIClient:
    return atm_session(issue_test_card(account))


def test_an_atm_session_cannot_reach_another_account(account, victim_account, user):
    own_savings = Account.objects.create(
        number="1000000016", owner=user, kind=Account.Kind.SAVINGS, currency="USD"
    )
    atm = atm_session_for(account)
    before = ledger_snapshot()
    # An ATM session outside its account is 403, whether the account is the customer's own.
    for number in (victim_account.number, own_savings.number):
        balance = atm.get(f"/api/v1/accounts/{number}/balance/")
        assert_problem(balance, 403, "permission_denied")
        withdraw = atm.post(
            f"/api/v1/accounts/{number}/withdraw/", {"amount": "10.00"}, format="json"
        )
        assert_problem(withdraw, 403, "permission_denied")
    transfer = atm.post(
        "/api/v1/transfers/",
        {"from_account": victim_account.number, "to_account": account.number, "amount": "1"},
        format="json",
    )
    assert_problem(transfer, 403, "permission_denied")
    assert ledger_snapshot() == before


# --- API3: mass assignment ----------------------------------------------------------------------
# A field an operation does not define is refused (400 naming it), never silently dropped or
# applied: the client learns at once, and nothing changes.

PRIVILEGED = {
    "is_staff": True,
    "is_superuser": True,
    "balance": "1000000.00",
    "status": "frozen",
    "owner": 1,
    "id": 999,
}


def mass_assignment_cases(account, other_account):
    """(method, path, a valid body, the fields the operation does not define)."""
    elsewhere = {"account": other_account.number, "account_number": other_account.number}
    return [
        (
            "post",
            "/api/v1/auth/register/",
            {"username": "mallory", "password": "blue-otter-7431"},
            {},
        ),
        (
            "patch",
            "/api/v1/users/me/",
            {"email": "new@example.com", "current_password": DEFAULT_PASSWORD},
            {"username": "root", "password": "x"},
        ),
        (
            "post",
            "/api/v1/accounts/",
            {"kind": "savings"},
            {"number": "1000000008", "daily_withdrawal_limit": "999999.00"},
        ),
        ("post", f"/api/v1/accounts/{account.number}/deposit/", {"amount": "5.00"}, elsewhere),
        ("post", f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "5.00"}, elsewhere),
        (
            "post",
            "/api/v1/transfers/",
            {"from_account": account.number, "to_account": other_account.number, "amount": "2"},
            {"currency": "EUR"},
        ),
        (
            "post",
            f"/api/v1/accounts/{account.number}/cards/",
            {"pin": "917305"},
            {"card_number": "4000001234567899", **elsewhere},
        ),
        ("post", f"/api/v1/accounts/{account.number}/close/", {}, {}),
        (
            "post",
            "/api/v1/auth/password/change/",
            {"old_password": DEFAULT_PASSWORD, "new_password": "blue-otter-7431"},
            {},
        ),
    ]


def test_fields_an_operation_does_not_define_are_refused_and_change_nothing(
    auth_client, user, account, other_account
):
    for method, path, body, extra in mass_assignment_cases(account, other_account):
        unknown = {**PRIVILEGED, **extra}
        before = ledger_snapshot(), User.objects.values().get(pk=user.pk)
        response = getattr(auth_client, method)(path, {**body, **unknown}, format="json")
        problem = assert_problem(response, 400, "validation_error")
        assert problem["errors"] == {
            name: ["Unknown field: this operation does not take it."] for name in unknown
        }, path
        assert (ledger_snapshot(), User.objects.values().get(pk=user.pk)) == before, path
        assert not User.objects.filter(username__in=["mallory", "root"]).exists()


# --- API5: broken function level authorization ---------------------------------------------------


def assert_sent_to_admin_login(response) -> None:
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("path", ["/admin/", "/admin/accounts/account/", "/admin/audit/"])
def test_admin_is_not_reachable_with_a_customer_session_or_token(client, user, path):
    assert_sent_to_admin_login(client.get(path))
    # The customer's JWT means nothing to the admin...
    token = APIClient()
    access = str(RefreshToken.for_user(user).access_token)
    assert_sent_to_admin_login(token.get(path, HTTP_AUTHORIZATION=f"Bearer {access}"))
    # ...and a customer's own session (right password, not staff) gets the login page too.
    client.force_login(user)
    assert_sent_to_admin_login(client.get(path))


def test_a_customer_cannot_run_admin_actions(client, user, other_account):
    client.force_login(user)
    response = client.post(
        "/admin/accounts/account/",
        {"action": "freeze_accounts", "_selected_action": [other_account.pk], "reason": "x"},
    )
    assert_sent_to_admin_login(response)
    other_account.refresh_from_db()
    assert other_account.status == Account.Status.ACTIVE


STAFF_ONLY_WORDS = ("freeze", "unblock", "reverse", "reconcile", "role", "audit", "seed", "purge")


def api_routes() -> list[str]:
    routes = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                routes.append(prefix + str(pattern.pattern))

    walk(get_resolver().url_patterns)
    return [route for route in routes if route.startswith(("api/", "^api/"))]


def test_staff_only_commands_have_no_http_route():
    routes = api_routes()
    assert any("accounts" in route for route in routes)  # the walk does see the API
    offending = [r for r in routes if any(word in r.lower() for word in STAFF_ONLY_WORDS)]
    assert offending == []


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/accounts/{account}/freeze/",
        "/api/v1/accounts/{account}/unfreeze/",
        "/api/v1/transactions/{transaction}/reverse/",
        "/api/v1/cards/{card}/unblock/",
        "/api/v1/reconcile/",
        "/api/v1/audit/",
    ],
)
def test_staff_actions_guessed_over_http_are_404(auth_client, account, path):
    card = issue_test_card(account)
    transaction = Transaction.objects.filter(account=account).latest("created_at")
    url = fill(path, account=account.number, transaction=str(transaction.id), card=card.number)
    before = ledger_snapshot()
    response = auth_client.post(url, {"reason": "because"}, format="json")
    assert_problem(response, 404, "not_found")
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/accounts/"),
        ("post", "/api/v1/accounts/"),
        ("get", "/api/v1/users/me/"),
        ("post", "/api/v1/auth/password/change/"),
        ("post", "/api/v1/accounts/{account}/close/"),
        ("post", "/api/v1/accounts/{account}/cards/"),
    ],
)
def test_an_atm_session_cannot_use_customer_functions(account, method, path):
    atm = atm_session_for(account)
    response = getattr(atm, method)(fill(path, account=account.number), {}, format="json")
    assert_problem(response, 403, "permission_denied")


# --- no secret in any log line ------------------------------------------------------------------


def test_no_password_pin_token_or_card_number_reaches_the_logs_or_the_audit_trail(
    caplog, api_client, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.DEBUG)
    # Every 4xx logged with its path too (production logs only 5xx from django.request).
    caplog.set_level(logging.DEBUG, logger="django.request")
    password, new_password, pin = "blue-otter-7431", "green-heron-2468", "917305"
    secrets = [password, new_password, pin]

    def post(path, body, client=api_client):
        return client.post(path, body, format="json")

    post("/api/v1/auth/register/", {"username": "zoe", "password": password, "email": "z@x.io"})
    post("/api/v1/auth/token/", {"username": "zoe", "password": "wrong-" + password})
    tokens = post("/api/v1/auth/token/", {"username": "zoe", "password": password}).json()
    secrets += [tokens["access"], tokens["refresh"]]
    client = token_client(tokens["access"])
    number = post("/api/v1/accounts/", {}, client).json()["number"]
    post(f"/api/v1/accounts/{number}/deposit/", {"amount": "50.00"}, client)
    card = post(f"/api/v1/accounts/{number}/cards/", {"pin": pin}, client).json()["card_number"]
    secrets.append(card)
    post("/api/v1/auth/card/", {"card_number": card, "pin": "192837"})
    session = post("/api/v1/auth/card/", {"card_number": card, "pin": pin}).json()
    secrets.append(session["access"])
    post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    with django_capture_on_commit_callbacks(execute=True):
        post("/api/v1/auth/password/reset/", {"email": "z@x.io"})
    wait_for_outgoing_mail()
    uid_token = mail.outbox[-1].body.split("#", 1)[1].split()[0]
    reset_token = uid_token.split("token=")[1]
    secrets.append(reset_token)
    post(
        "/api/v1/auth/password/reset/confirm/",
        {
            "uid": uid_token.split("uid=")[1].split("&")[0],
            "token": reset_token,
            "new_password": new_password,
        },
    )
    relogin = post("/api/v1/auth/token/", {"username": "zoe", "password": new_password}).json()
    token_client(relogin["access"], client)
    post(
        "/api/v1/auth/password/change/",
        {"old_password": new_password, "new_password": password + "-x"},
        client,
    )
    secrets += [relogin["access"], relogin["refresh"], password + "-x"]

    lines = [caplog.text] + [str(record.__dict__) for record in caplog.records]
    trail = [json.dumps(event.data) for event in AuditEvent.objects.all()]
    assert caplog.records, "the flows above log something, or this test proves nothing"
    for secret in secrets:
        leaks = [line for line in lines + trail if secret in line]
        assert leaks == [], f"a secret ({len(secret)} chars) was logged"
