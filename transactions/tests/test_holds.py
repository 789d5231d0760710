"""Holds (two-phase cash withdrawal) over HTTP: create, capture, void, expiry, lists, the
available balance, idempotency, ATM confinement, audit and reconciliation."""

import uuid
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction as db_transaction
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Account
from accounts.services import freeze_account
from accounts.tests.factories import AccountFactory, issue_test_card
from atm_project.problems import InsufficientFunds
from atm_project.testing.ledger import cash_subaccount_of, ledger_snapshot
from atm_project.testing.problems import assert_problem
from audit.models import AuditEvent
from transactions import services
from transactions.models import Entry, Hold, Transaction
from transactions.reconciliation import reconcile
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

HOLDS = "/api/v1/holds/"
HOLD_FIELDS = {
    "id",
    "account_number",
    "amount",
    "captured_amount",
    "currency",
    "status",
    "description",
    "void_reason",
    "created_at",
    "expires_at",
    "transaction_id",
}


def holds_url(account) -> str:
    return f"/api/v1/accounts/{account.number}/holds/"


def hold_url(hold_id, action: str = "") -> str:
    return f"{HOLDS}{hold_id}/" + (f"{action}/" if action else "")


def balances(client, account) -> tuple[str, str]:
    body = client.get(f"/api/v1/accounts/{account.number}/balance/").json()
    return body["balance"], body["available_balance"]


def hold(client, account, amount="100.00", **body):
    response = client.post(holds_url(account), {"amount": amount, **body}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def age(hold_id, seconds_past_expiry: int = 1) -> None:
    """Move a hold into the past so that its `expires_at` has just passed."""
    now = timezone.now()
    Hold.objects.filter(pk=hold_id).update(
        created_at=now - timedelta(minutes=10),
        expires_at=now - timedelta(seconds=seconds_past_expiry),
    )


def assert_clean_ledger():
    report = reconcile()
    assert report.clean, [str(finding) for finding in report.findings]


# ------------------------------------------------------------------------------------ creation


def test_a_hold_reserves_money_without_posting_anything(auth_client, account):
    before = (Entry.objects.count(), Transaction.objects.count())

    response = auth_client.post(
        holds_url(account), {"amount": "120.00", "description": "ATM 7"}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == HOLD_FIELDS
    assert (body["status"], body["amount"], body["currency"]) == ("pending", "120.00", "USD")
    assert (body["account_number"], body["description"]) == (account.number, "ATM 7")
    assert body["captured_amount"] is body["void_reason"] is body["transaction_id"] is None
    created = Hold.objects.get(pk=body["id"])
    assert created.expires_at - created.created_at == timedelta(seconds=300)
    assert balances(auth_client, account) == ("500.00", "380.00")
    listed = auth_client.get("/api/v1/accounts/").json()["results"][0]
    assert (listed["balance"], listed["available_balance"]) == ("500.00", "380.00")
    shown = auth_client.get(f"/api/v1/accounts/{account.number}/").json()
    assert shown["available_balance"] == "380.00"
    assert (Entry.objects.count(), Transaction.objects.count()) == before
    event = AuditEvent.objects.get(action="hold.created")
    assert (event.object_id, event.data["amount"]) == (body["id"], "120.00")
    assert_clean_ledger()


def test_expires_in_sets_the_lifetime(auth_client, account):
    body = hold(auth_client, account, expires_in=30)
    created = Hold.objects.get(pk=body["id"])
    assert created.expires_at - created.created_at == timedelta(seconds=30)


@pytest.mark.parametrize("expires_in", [29, 86401, 0, -5, "300", 300.5, True, None, [300]])
def test_expires_in_outside_30_to_86400_whole_seconds_is_refused(auth_client, account, expires_in):
    before = ledger_snapshot()
    response = auth_client.post(
        holds_url(account), {"amount": "10", "expires_in": expires_in}, format="json"
    )
    body = assert_problem(response, 400, "validation_error")
    assert "expires_in" in body["errors"]
    assert ledger_snapshot() == before


@pytest.mark.parametrize("amount", ["0", "-1", "1.001", "abc", True, "1e3"])
def test_bad_amount_is_refused(auth_client, account, amount):
    before = ledger_snapshot()
    response = auth_client.post(holds_url(account), {"amount": amount}, format="json")
    assert "amount" in assert_problem(response, 400, "validation_error")["errors"]
    assert ledger_snapshot() == before


def test_a_hold_beyond_the_available_balance_is_refused(auth_client, account):
    hold(auth_client, account, "450.00")
    before = ledger_snapshot()

    response = auth_client.post(holds_url(account), {"amount": "60.00"}, format="json")

    body = assert_problem(response, 422, "insufficient_funds")
    assert "50.00" in body["detail"]
    assert ledger_snapshot() == before


def test_pending_holds_count_towards_the_daily_limit(auth_client, user):
    account = AccountFactory(owner=user, balance="3000.00")
    auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "300"}, format="json"
    )
    hold(auth_client, account, "600.00")
    before = ledger_snapshot()

    refused = auth_client.post(holds_url(account), {"amount": "100.01"}, format="json")
    withdraw = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "100.01"}, format="json"
    )

    assert_problem(refused, 422, "daily_limit_exceeded")
    assert_problem(withdraw, 422, "daily_limit_exceeded")
    assert ledger_snapshot() == before
    assert (
        auth_client.post(holds_url(account), {"amount": "100.00"}, format="json").status_code == 201
    )


def test_a_hold_on_a_frozen_account_is_refused(auth_client, account, staff_user):
    services_freeze(account, staff_user)
    before = ledger_snapshot()
    response = auth_client.post(holds_url(account), {"amount": "10"}, format="json")
    assert_problem(response, 409, "account_not_active")
    assert ledger_snapshot() == before


def test_a_hold_on_someone_elses_account_is_not_found(auth_client, other_account):
    before = ledger_snapshot()
    response = auth_client.post(holds_url(other_account), {"amount": "10"}, format="json")
    assert_problem(response, 404, "not_found")
    assert ledger_snapshot() == before


def test_holds_reserve_money_against_withdrawals_and_transfers(auth_client, account, user):
    target = AccountFactory(owner=user)
    hold(auth_client, account, "400.00")
    before = ledger_snapshot()

    withdraw = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "100.01"}, format="json"
    )
    transfer = auth_client.post(
        "/api/v1/transfers/",
        {"from_account": account.number, "to_account": target.number, "amount": "100.01"},
        format="json",
    )

    assert_problem(withdraw, 422, "insufficient_funds")
    assert_problem(transfer, 422, "insufficient_funds")
    assert ledger_snapshot() == before


def test_a_reversal_cannot_take_money_a_hold_reserved(auth_client, account, user, staff_user):
    deposit = auth_client.post(
        f"/api/v1/accounts/{account.number}/deposit/", {"amount": "100"}, format="json"
    ).json()
    hold(auth_client, account, "550.00")
    with pytest.raises(InsufficientFunds):
        services.reverse(transaction_id=deposit["id"], actor=staff_user, reason="fraud")
    assert balances(auth_client, account) == ("600.00", "50.00")


# ------------------------------------------------------------------------------------- capture


def test_capture_posts_one_withdrawal_linked_to_the_hold(auth_client, account):
    created = hold(auth_client, account, "120.00", description="ATM 7")

    response = auth_client.post(hold_url(created["id"], "capture"), {}, format="json")

    assert response.status_code == 201, response.content
    withdrawal = response.json()
    assert (withdrawal["kind"], withdrawal["amount"]) == ("withdrawal", "120.00")
    assert (withdrawal["hold_id"], withdrawal["balance_after"]) == (created["id"], "380.00")
    assert withdrawal["description"] == "ATM 7"
    shown = auth_client.get(hold_url(created["id"])).json()
    assert (shown["status"], shown["captured_amount"]) == ("captured", "120.00")
    assert shown["transaction_id"] == withdrawal["id"]
    assert balances(auth_client, account) == ("380.00", "380.00")
    history = auth_client.get(f"/api/v1/accounts/{account.number}/transactions/").json()
    assert history["results"][0]["transaction_id"] == withdrawal["id"]
    assert (
        auth_client.get(f"/api/v1/transactions/{withdrawal['id']}/").json()["hold_id"]
        == (created["id"])
    )
    assert AuditEvent.objects.filter(action="hold.captured", object_id=created["id"]).exists()
    assert AuditEvent.objects.filter(action="money.withdrawal", object_id=withdrawal["id"]).exists()
    assert_clean_ledger()


def test_partial_capture_releases_the_rest(auth_client, account):
    created = hold(auth_client, account, "200.00")

    response = auth_client.post(hold_url(created["id"], "capture"), {"amount": "60"}, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["amount"] == "60.00"
    assert auth_client.get(hold_url(created["id"])).json()["captured_amount"] == "60.00"
    assert balances(auth_client, account) == ("440.00", "440.00")
    assert_clean_ledger()


def test_capture_above_the_hold_is_refused(auth_client, account):
    created = hold(auth_client, account, "50.00")
    before = ledger_snapshot()
    response = auth_client.post(
        hold_url(created["id"], "capture"), {"amount": "50.01"}, format="json"
    )
    assert_problem(response, 422, "capture_exceeds_hold")
    assert ledger_snapshot() == before


def test_a_hold_is_captured_at_most_once(auth_client, account):
    created = hold(auth_client, account, "50.00")
    auth_client.post(hold_url(created["id"], "capture"), {}, format="json")
    before = ledger_snapshot()

    again = auth_client.post(hold_url(created["id"], "capture"), {}, format="json")
    void = auth_client.post(hold_url(created["id"], "void"), {}, format="json")

    assert "captured" in assert_problem(again, 409, "hold_not_pending")["detail"]
    assert_problem(void, 409, "hold_not_pending")
    assert ledger_snapshot() == before


def test_capture_of_a_hold_made_before_a_freeze_goes_through(auth_client, account, staff_user):
    created = hold(auth_client, account, "50.00")
    services_freeze(account, staff_user)
    response = auth_client.post(hold_url(created["id"], "capture"), {}, format="json")
    assert response.status_code == 201, response.content
    assert_clean_ledger()


# ---------------------------------------------------------------------------------------- void


def test_void_releases_the_money_with_its_reason(auth_client, account):
    created = hold(auth_client, account, "80.00")
    before = (Entry.objects.count(), Transaction.objects.count())

    response = auth_client.post(
        hold_url(created["id"], "void"), {"reason": "dispense_failed"}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["void_reason"]) == ("voided", "dispense_failed")
    assert balances(auth_client, account) == ("500.00", "500.00")
    assert (Entry.objects.count(), Transaction.objects.count()) == before
    event = AuditEvent.objects.get(action="hold.voided")
    assert event.data["reason"] == "dispense_failed"
    captured = auth_client.post(hold_url(created["id"], "capture"), {}, format="json")
    assert_problem(captured, 409, "hold_not_pending")


def test_void_reason_defaults_to_other_and_must_be_known(auth_client, account):
    first, second = hold(auth_client, account, "1"), hold(auth_client, account, "2")
    bad = auth_client.post(hold_url(first["id"], "void"), {"reason": "bored"}, format="json")
    assert "reason" in assert_problem(bad, 400, "validation_error")["errors"]
    response = auth_client.post(hold_url(second["id"], "void"), {}, format="json")
    assert response.json()["void_reason"] == "other"


# -------------------------------------------------------------------------------------- expiry


def test_an_expired_hold_frees_its_money_without_any_job(auth_client, account):
    created = hold(auth_client, account, "500.00")
    assert balances(auth_client, account) == ("500.00", "0.00")
    age(created["id"])

    assert balances(auth_client, account) == ("500.00", "500.00")
    assert auth_client.get(hold_url(created["id"])).json()["status"] == "expired"
    before = ledger_snapshot()
    assert_problem(
        auth_client.post(hold_url(created["id"], "capture"), {}, format="json"),
        409,
        "hold_not_pending",
    )
    assert_problem(
        auth_client.post(hold_url(created["id"], "void"), {}, format="json"),
        409,
        "hold_not_pending",
    )
    assert ledger_snapshot() == before
    withdraw = auth_client.post(
        f"/api/v1/accounts/{account.number}/withdraw/", {"amount": "500"}, format="json"
    )
    assert withdraw.status_code == 201, withdraw.content


def test_expire_holds_records_each_expiry_once(auth_client, account):
    expired, pending = hold(auth_client, account, "10"), hold(auth_client, account, "20")
    age(expired["id"])

    call_command("expire_holds", stdout=StringIO())
    call_command("expire_holds", stdout=StringIO())

    assert Hold.objects.get(pk=expired["id"]).status == "expired"
    assert Hold.objects.get(pk=pending["id"]).status == "pending"
    events = AuditEvent.objects.filter(action="hold.expired")
    assert [event.object_id for event in events] == [expired["id"]]


# ------------------------------------------------------------------------------------- listing


def test_list_filters_by_status_as_of_now_and_by_account(auth_client, account, user):
    savings = AccountFactory(owner=user, balance="50.00")
    pending = hold(auth_client, account, "10")
    expired = hold(auth_client, account, "20")
    on_savings = hold(auth_client, savings, "5")
    age(expired["id"])

    def ids(query: str) -> list[str]:
        response = auth_client.get(f"{HOLDS}{query}")
        assert response.status_code == 200, response.content
        return [item["id"] for item in response.json()["results"]]

    assert ids("") == [on_savings["id"], pending["id"], expired["id"]]
    assert ids("?status=pending") == [on_savings["id"], pending["id"]]
    assert ids("?status=expired") == [expired["id"]]
    assert ids(f"?account={savings.number}") == [on_savings["id"]]
    assert_problem(auth_client.get(f"{HOLDS}?status=gone"), 400, "validation_error")
    assert_problem(auth_client.get(f"{HOLDS}?status="), 400, "validation_error")


def test_someone_elses_hold_is_not_found_and_the_attempt_audited(
    auth_client, client_for, other_account
):
    theirs = hold(client_for(other_account.owner), other_account, "10")
    before = ledger_snapshot()

    for response in (
        auth_client.get(hold_url(theirs["id"])),
        auth_client.post(hold_url(theirs["id"], "capture"), {}, format="json"),
        auth_client.post(hold_url(theirs["id"], "void"), {}, format="json"),
    ):
        assert_problem(response, 404, "not_found")
    assert_problem(auth_client.get(hold_url(uuid.uuid4())), 404, "not_found")
    assert auth_client.get(HOLDS).json()["results"] == []
    assert ledger_snapshot() == before
    assert AuditEvent.objects.filter(action="access.denied", object_id=theirs["id"]).count() == 3


# --------------------------------------------------------------------------------- idempotency


def test_create_capture_and_void_replay_under_their_idempotency_keys(auth_client, account):
    def post(url, body, key):
        return auth_client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY=key)

    first = post(holds_url(account), {"amount": "30"}, "hold-1")
    replay = post(holds_url(account), {"amount": "30"}, "hold-1")
    assert (first.status_code, replay.status_code) == (201, 201)
    assert replay.json() == first.json() and replay["Idempotent-Replayed"] == "true"
    assert Hold.objects.count() == 1
    assert_problem(
        post(holds_url(account), {"amount": "31"}, "hold-1"), 422, "idempotency_key_reused"
    )

    hold_id = first.json()["id"]
    captured = post(hold_url(hold_id, "capture"), {}, "capture-1")
    again = post(hold_url(hold_id, "capture"), {}, "capture-1")
    assert (captured.status_code, again.status_code) == (201, 201)
    assert again.json() == captured.json() and again["Idempotent-Replayed"] == "true"
    assert Transaction.objects.filter(hold_id=hold_id).count() == 1

    other = hold(auth_client, account, "5")
    voided = post(hold_url(other["id"], "void"), {"reason": "timeout"}, "void-1")
    revoid = post(hold_url(other["id"], "void"), {"reason": "timeout"}, "void-1")
    assert (voided.status_code, revoid.status_code) == (200, 200)
    assert revoid.json() == voided.json() and revoid["Idempotent-Replayed"] == "true"
    assert AuditEvent.objects.filter(action="hold.voided").count() == 1


def test_a_refused_capture_is_replayed_too(auth_client, account):
    created = hold(auth_client, account, "30")
    url = hold_url(created["id"], "capture")
    first = auth_client.post(url, {"amount": "31"}, format="json", HTTP_IDEMPOTENCY_KEY="c")
    replay = auth_client.post(url, {"amount": "31"}, format="json", HTTP_IDEMPOTENCY_KEY="c")
    assert_problem(first, 422, "capture_exceeds_hold")
    assert replay.json() == first.json() and replay["Idempotent-Replayed"] == "true"


# ----------------------------------------------------------------------------------- ATM use


def test_an_atm_session_holds_captures_and_voids_on_its_cards_account_only(
    api_client, account, user, client_for
):
    card = issue_test_card(account)
    token = api_client.post(
        "/api/v1/auth/card/", {"card_number": card.number, "pin": "2468"}, format="json"
    ).json()["access"]
    atm = APIClient()
    atm.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    savings = AccountFactory(owner=user, balance="100.00")
    on_savings = hold(client_for(user), savings, "10")

    created = hold(atm, account, "40")
    captured = atm.post(hold_url(created["id"], "capture"), {}, format="json")
    voidable = hold(atm, account, "10")
    voided = atm.post(hold_url(voidable["id"], "void"), {}, format="json")

    assert (captured.status_code, voided.status_code) == (201, 200)
    assert [h["id"] for h in atm.get(HOLDS).json()["results"]] == [voidable["id"], created["id"]]
    assert_problem(
        atm.post(holds_url(savings), {"amount": "1"}, format="json"), 403, "permission_denied"
    )
    for response in (
        atm.get(hold_url(on_savings["id"])),
        atm.post(hold_url(on_savings["id"], "capture"), {}, format="json"),
        atm.post(hold_url(on_savings["id"], "void"), {}, format="json"),
    ):
        assert_problem(response, 404, "not_found")
    assert Hold.objects.get(pk=on_savings["id"]).status == "pending"


# ------------------------------------------------------------------------------- reconcile


def test_reconcile_finds_a_captured_hold_without_its_withdrawal(auth_client, account):
    created = hold(auth_client, account, "30")
    Hold.objects.filter(pk=created["id"]).update(status="captured", captured_amount="30.00")
    findings = [f for f in reconcile().findings if f.check == "hold"]
    assert [f.subject for f in findings] == [f"hold {created['id']}"]
    assert "no withdrawal" in findings[0].detail


def test_reconcile_finds_a_withdrawal_naming_a_hold_it_did_not_capture(account):
    pending = services.create_hold(
        account_number=account.number, amount=Decimal("30"), actor=account.owner
    )
    accounts = {a.number: a for a in Account.objects.filter(currency="USD")}
    cash = cash_subaccount_of(account)
    with db_transaction.atomic():
        posted = services._post(
            kind=Transaction.Kind.WITHDRAWAL,
            legs=[
                services.Leg(accounts[account.number], Decimal("-30")),
                services.Leg(cash, Decimal("30")),
            ],
            description="forged",
            actor=account.owner,
            hold=pending,
        )
    findings = [str(f) for f in reconcile().findings if f.check == "hold"]
    assert findings == [
        f"[hold] transaction {posted.id}: names hold {pending.id} but is not its capture "
        "(a withdrawal of the captured amount from the hold's account)"
    ]


def services_freeze(account, staff_user):
    freeze_account(number=account.number, actor=staff_user, reason="test")


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True)
