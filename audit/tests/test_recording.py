"""Every event of the audit trail is recorded by the request that causes it, over HTTP."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.test import Client
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from accounts.models import Account, Card
from atm_project.testing.clients import sign_in
from atm_project.testing.racing import race
from atm_project.testing.staff import verified_staff_client
from audit.models import AuditEvent
from audit.roles import setup_roles
from audit.verification import verify_chain
from backoffice import approvals
from transactions.models import Transaction
from users.models import User
from users.tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

USER_AGENT = "ATM-Test/1.0"
PIN = "2580"


def _client(**credentials) -> APIClient:
    client = APIClient(HTTP_USER_AGENT=USER_AGENT)
    if credentials:
        client.credentials(**credentials)
    return client


@pytest.fixture
def signed_in(user, client_for):
    client = client_for(user)
    client.defaults["HTTP_USER_AGENT"] = USER_AGENT
    return client


def _only_event(action: str, response) -> AuditEvent:
    """The one event of this kind recorded by the request this response answers."""
    events = list(AuditEvent.objects.filter(action=action, request_id=response["X-Request-ID"]))
    assert len(events) == 1, list(AuditEvent.objects.values_list("action", "request_id"))
    event = events[0]
    assert (event.ip, event.user_agent) == ("127.0.0.1", USER_AGENT)
    return event


def _no_secret_in_trail(*secrets: str) -> None:
    for event in AuditEvent.objects.all():
        stored = json.dumps([event.data, event.user_agent, event.object_id], ensure_ascii=False)
        for secret in secrets:
            assert secret not in stored, (event.action, secret)


def test_registration_is_recorded_without_the_password(api_client):
    password = "a-long-Secret-4242"
    response = _client().post(
        "/api/v1/auth/register/", {"username": "newbie", "password": password}, format="json"
    )
    assert response.status_code == 201
    event = _only_event("auth.registered", response)
    assert event.actor.username == "newbie"
    assert event.data == {"username": "newbie"}
    _no_secret_in_trail(password)


def test_sign_in_and_failed_sign_in_are_recorded_with_the_username_only(user):
    wrong = "not-the-password-77"
    failed = _client().post(
        "/api/v1/auth/token/", {"username": user.username, "password": wrong}, format="json"
    )
    assert failed.status_code == 401
    event = _only_event("auth.login_failed", failed)
    assert event.actor is None
    assert event.data == {"username": user.username}

    ok = _client().post(
        "/api/v1/auth/token/",
        {"username": user.username, "password": DEFAULT_PASSWORD},
        format="json",
    )
    assert ok.status_code == 200
    assert _only_event("auth.login", ok).actor == user
    _no_secret_in_trail(wrong, DEFAULT_PASSWORD, ok.json()["access"], ok.json()["refresh"])


def test_logout_is_recorded(user):
    refresh = sign_in(user.username)["refresh"]
    response = _client().post("/api/v1/auth/logout/", {"refresh": refresh}, format="json")
    assert response.status_code == 204
    assert _only_event("auth.logout", response).actor == user
    _no_secret_in_trail(refresh)


def test_password_change_is_recorded(user, signed_in):
    new_password = "another-Secret-9191"
    response = signed_in.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": new_password},
        format="json",
    )
    assert response.status_code == 204
    assert _only_event("auth.password_changed", response).actor == user
    _no_secret_in_trail(DEFAULT_PASSWORD, new_password)


def test_opening_and_closing_an_account_are_recorded(user, signed_in):
    opened = signed_in.post("/api/v1/accounts/", {"kind": "savings"}, format="json")
    assert opened.status_code == 201
    number = opened.json()["number"]
    event = _only_event("account.opened", opened)
    assert (event.actor, event.object_id) == (user, str(Account.objects.get(number=number).pk))
    assert event.data == {"number": number, "kind": "savings", "currency": "USD"}

    closed = signed_in.post(f"/api/v1/accounts/{number}/close/", format="json")
    assert closed.status_code == 200
    assert _only_event("account.closed", closed).data == {"number": number}


@pytest.mark.parametrize(
    ("path", "body", "action"),
    [
        ("deposit", {"amount": "25.00"}, "money.deposit"),
        ("withdraw", {"amount": "25.00"}, "money.withdrawal"),
    ],
)
def test_cash_movements_are_recorded(path, body, action, user, account, signed_in):
    response = signed_in.post(f"/api/v1/accounts/{account.number}/{path}/", body, format="json")
    assert response.status_code == 201
    event = _only_event(action, response)
    assert event.actor == user
    assert (event.object_type, event.object_id) == (
        "transactions.transaction",
        response.json()["id"],
    )
    assert event.data["amount"] == "25.00"
    assert event.data["account"] == account.number


def test_transfers_are_recorded(user, account, other_account, signed_in):
    response = signed_in.post(
        "/api/v1/transfers/",
        {"from_account": account.number, "to_account": other_account.number, "amount": "7.5"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="audit-transfer-1",
    )
    assert response.status_code == 201
    event = _only_event("money.transfer", response)
    assert event.data["account"] == account.number
    assert event.data["counterparty"] == other_account.number
    assert Decimal(event.data["amount"]) == Decimal("7.50")
    replay = signed_in.post(
        "/api/v1/transfers/",
        {"from_account": account.number, "to_account": other_account.number, "amount": "7.5"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="audit-transfer-1",
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="money.transfer").count() == 1


def test_a_refused_movement_records_no_money_event(account, signed_in):
    response = signed_in.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "900.00"}, format="json"
    )
    assert response.status_code == 422
    assert not AuditEvent.objects.filter(action__startswith="money.withdrawal").exists()


def test_card_issue_and_block_are_recorded_with_a_masked_number(user, account, signed_in):
    issued = signed_in.post(
        f"/api/v1/accounts/{account.number}/cards/", {"pin": PIN}, format="json"
    )
    assert issued.status_code == 201
    card_number = issued.json()["card_number"]
    event = _only_event("card.issued", issued)
    assert event.actor == user
    assert event.data == {"card": f"•••• {card_number[-4:]}", "account": account.number}

    signed = _client().post(
        "/api/v1/auth/card/", {"card_number": card_number, "pin": PIN}, format="json"
    )
    assert signed.status_code == 200
    assert _only_event("auth.card_login", signed).actor == user

    for _ in range(3):
        attempt = _client().post(
            "/api/v1/auth/card/", {"card_number": card_number, "pin": "1357"}, format="json"
        )
        failed = _only_event("auth.card_login_failed", attempt)
        assert failed.data["card"] == f"•••• {card_number[-4:]}"
    assert attempt.status_code == 423
    assert failed.data["refusal"] == "CardBlocked"
    blocked = _only_event("card.blocked", attempt)
    assert blocked.object_id == str(Card.objects.get(number=card_number).pk)
    _no_secret_in_trail(card_number, PIN, "1357")


def test_staff_actions_record_the_change_and_the_reason(user, account, db):
    staff = User.objects.create_superuser("boss", "boss@example.com", "boss-pass-1234")
    client = verified_staff_client(staff, Client(HTTP_USER_AGENT=USER_AGENT))
    response = client.post(
        reverse("admin:accounts_account_changelist"),
        {
            "action": "freeze",
            "_selected_action": [str(account.pk)],
            "apply": "1",
            "reason": "Card skimming report",
        },
    )
    assert response.status_code == 302
    frozen = _only_event("account.frozen", response)
    assert frozen.actor == staff
    assert frozen.data["reason"] == "Card skimming report"
    admin_event = _only_event("admin.freeze", response)
    assert admin_event.data["reason"] == "Card skimming report"


def test_reversal_is_recorded(user, account, db):
    staff = User.objects.create_superuser("boss", "boss@example.com", "boss-pass-1234")
    posted = Transaction.objects.filter(account=account).latest("created_at")
    client = verified_staff_client(staff, Client(HTTP_USER_AGENT=USER_AGENT))
    response = client.post(
        reverse("admin:transactions_transaction_changelist"),
        {
            "action": "reverse",
            "_selected_action": [str(posted.pk)],
            "apply": "1",
            "reason": "Deposit keyed twice",
            "confirm": "on",
        },
    )
    assert response.status_code == 302
    # The admin files a four-eyes request; a different supervisor's approval reverses.
    filed = _only_event("approval.requested", response)
    assert (filed.actor, filed.data["transaction_id"]) == (staff, str(posted.pk))
    supervisor = UserFactory(username="checker", is_staff=True)
    supervisor.groups.add(setup_roles()["Supervisors"])
    approvals.approve(request_id=filed.data["request"], actor=supervisor)
    event = AuditEvent.objects.get(action="money.reversal")
    assert event.actor == supervisor
    assert event.data["reverses"] == str(posted.pk)
    assert event.data["reason"].startswith("Deposit keyed twice (request #")
    assert event.data["description"] == f"Reversal of {posted.pk}"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/api/v1/accounts/{number}/", None),
        ("get", "/api/v1/accounts/{number}/balance/", None),
        ("post", "/api/v1/accounts/{number}/deposit/", {"amount": "1.00"}),
        ("post", "/api/v1/accounts/{number}/close/", None),
        ("post", "/api/v1/transfers/", {"from_account": "{number}", "amount": "1.00"}),
    ],
)
def test_reaching_for_someone_elses_account_is_answered_404_and_recorded(
    method, path, body, user, account, other_account, signed_in
):
    number = other_account.number
    if body and body.get("from_account"):
        body = {**body, "from_account": number, "to_account": account.number}
    response = getattr(signed_in, method)(path.format(number=number), body, format="json")
    assert response.status_code == 404
    event = _only_event("access.denied", response)
    assert event.actor == user
    assert (event.object_type, event.object_id) == ("accounts.account", number)


def test_reaching_for_someone_elses_transaction_is_recorded(user, other_account, signed_in):
    theirs = Transaction.objects.get(account=other_account)
    response = signed_in.get(f"/api/v1/transactions/{theirs.pk}/")
    assert response.status_code == 404
    event = _only_event("access.denied", response)
    assert event.object_id == str(theirs.pk)


def test_a_missing_object_is_not_mistaken_for_someone_elses(signed_in):
    assert signed_in.get("/api/v1/accounts/9999999999/").status_code == 404
    assert signed_in.get("/api/v1/transactions/not-a-uuid/").status_code == 404
    assert not AuditEvent.objects.filter(action="access.denied").exists()


def test_the_trail_of_a_whole_session_verifies(user, account, other_account, signed_in):
    signed_in.post(f"/api/v1/accounts/{account.number}/deposit/", {"amount": "5"}, format="json")
    signed_in.get(f"/api/v1/accounts/{other_account.number}/")
    signed_in.post("/api/v1/accounts/", {}, format="json")
    report = verify_chain()
    assert report.ok, report.problem
    assert report.events_checked == AuditEvent.objects.count()


def test_staff_sign_in_to_the_admin_is_recorded_and_so_is_a_failure(db, settings):
    settings.STAFF_2FA = False  # the second factor has tests of its own (backoffice/tests)
    User.objects.create_superuser("boss", "boss@example.com", "boss-pass-1234")
    client = Client(HTTP_USER_AGENT=USER_AGENT)
    login = reverse("admin:login")
    failed = client.post(login, {"username": "boss", "password": "guess-1234"})
    assert failed.status_code == 200
    assert _only_event("auth.login_failed", failed).data == {"username": "boss"}
    ok = client.post(login, {"username": "boss", "password": "boss-pass-1234"})
    assert ok.status_code == 302
    event = _only_event("auth.login", ok)
    assert (event.actor.username, event.data) == ("boss", {"via": "admin"})
    _no_secret_in_trail("guess-1234", "boss-pass-1234")


def test_a_user_changed_in_the_admin_is_recorded(user, db):
    staff = User.objects.create_superuser("boss", "boss@example.com", "boss-pass-1234")
    client = verified_staff_client(staff, Client(HTTP_USER_AGENT=USER_AGENT))
    response = client.post(
        reverse("admin:users_user_change", args=[user.pk]),
        {
            "username": user.username,
            "email": "changed@example.com",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = _only_event("admin.change", response)
    assert (event.actor, event.object_id) == (staff, str(user.pk))
    assert "Email address" in json.dumps(event.data)


def test_password_reset_is_recorded(user):
    new_password = "reset-Secret-5151"
    token = default_token_generator.make_token(user)
    response = _client().post(
        "/api/v1/auth/password/reset/confirm/",
        {
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": token,
            "new_password": new_password,
        },
        format="json",
    )
    assert response.status_code == 204
    assert _only_event("auth.password_reset", response).actor == user
    _no_secret_in_trail(new_password, token)


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_leave_an_unbroken_chain(
    requires_postgres, account_factory, client_for
):
    """Deposits into different accounts run in parallel threads, as in separate workers."""
    workers, each = 6, 3
    accounts = [account_factory(balance="10.00") for _ in range(workers)]
    clients = [client_for(account.owner) for account in accounts]

    def deposit(i: int) -> list[int]:
        path = f"/api/v1/accounts/{accounts[i].number}/deposit/"
        return [
            clients[i].post(path, {"amount": "1.00"}, format="json").status_code
            for _ in range(each)
        ]

    statuses = race(workers, deposit)
    assert statuses == [[201] * each] * workers
    report = verify_chain()
    assert report.ok, report.problem
    assert AuditEvent.objects.filter(action="money.deposit").count() == workers * (each + 1)
    assert report.events_checked == AuditEvent.objects.count()
