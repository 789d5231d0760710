"""Idempotency-Key on money-moving POSTs (docs/api.md "Idempotency")."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from atm_project.problems import IdempotencyKeyInUse
from atm_project.testing.clients import account_url
from atm_project.testing.commands import run_command
from atm_project.testing.ledger import balance_of
from atm_project.testing.problems import PROBLEM_CONTENT_TYPE, assert_problem
from atm_project.testing.racing import race
from transactions import services
from transactions.idempotency import request_fingerprint, run_idempotently
from transactions.models import IdempotencyKey, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


def post(client, url: str, body: dict, key: str | None = None):
    headers = {} if key is None else {"Idempotency-Key": key}
    return client.post(url, body, format="json", headers=headers)


def movements_of(account) -> int:
    return Transaction.objects.filter(account=account).count()


def test_a_retry_gets_the_first_answer_back_and_moves_no_money(auth_client, account):
    first = post(auth_client, account_url(account, "withdraw"), {"amount": "40.00"}, key="atm-17")
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    auth_client.post(
        account_url(account, "deposit"), {"amount": "5.00"}, format="json"
    )  # later activity
    before = (balance_of(account), movements_of(account))

    retry = post(auth_client, account_url(account, "withdraw"), {"amount": "40.00"}, key="atm-17")

    assert retry.status_code == 201
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()  # same balance_after, although the balance moved since
    assert (balance_of(account), movements_of(account)) == before


def test_a_retry_without_the_trailing_slash_is_the_same_request(auth_client, account):
    first = post(auth_client, account_url(account, "deposit"), {"amount": 7}, key="slash")
    retry = post(
        auth_client, account_url(account, "deposit").rstrip("/"), {"amount": 7}, key="slash"
    )
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json()["id"] == first.json()["id"]


def test_transfers_are_idempotent_too(auth_client, account, other_account):
    body = {"from_account": account.number, "to_account": other_account.number, "amount": "25"}
    first = post(auth_client, "/api/v1/transfers/", body, key="t-1")
    retry = post(auth_client, "/api/v1/transfers/", body, key="t-1")
    assert (first.status_code, retry.status_code) == (201, 201)
    assert retry.json() == first.json()
    assert balance_of(other_account) == Decimal("325.00")


@pytest.mark.parametrize(
    ("second_action", "second_body"),
    [
        ("deposit", {"amount": "10.01"}),  # different body
        ("withdraw", {"amount": "10.00"}),  # different path
        ("deposit", {"amount": "10.00", "description": "x"}),  # one more field
    ],
)
def test_the_same_key_for_a_different_request_is_422(
    auth_client, account, second_action, second_body
):
    assert (
        post(auth_client, account_url(account, "deposit"), {"amount": "10.00"}, key="k").status_code
        == 201
    )
    before = (balance_of(account), movements_of(account))

    response = post(auth_client, account_url(account, second_action), second_body, key="k")

    assert_problem(response, 422, "idempotency_key_reused")
    assert (balance_of(account), movements_of(account)) == before


def test_keys_are_scoped_per_user(client_for, user, other_user, account, other_account):
    mine = post(client_for(user), account_url(account, "deposit"), {"amount": "1.00"}, key="shared")
    theirs = post(
        client_for(other_user),
        account_url(other_account, "deposit"),
        {"amount": "1.00"},
        key="shared",
    )
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "Idempotent-Replayed" not in theirs
    assert mine.json()["id"] != theirs.json()["id"]
    assert (balance_of(account), balance_of(other_account)) == (
        Decimal("501.00"),
        Decimal("301.00"),
    )


def test_a_400_from_validation_does_not_burn_the_key(auth_client, account):
    bad = post(auth_client, account_url(account, "deposit"), {"amount": "ten"}, key="fix-me")
    assert_problem(bad, 400, "validation_error")
    fixed = post(auth_client, account_url(account, "deposit"), {"amount": "10"}, key="fix-me")
    assert fixed.status_code == 201, fixed.content
    assert balance_of(account) == Decimal("510.00")


def test_a_400_from_the_ledger_releases_the_key(auth_client, account, other_account):
    body = {"from_account": account.number, "to_account": "9999999999", "amount": "5"}
    bad = post(auth_client, "/api/v1/transfers/", body, key="retry-me")
    assert "to_account" in assert_problem(bad, 400, "validation_error")["errors"]
    assert not IdempotencyKey.objects.filter(key="retry-me").exists()

    fixed = post(
        auth_client, "/api/v1/transfers/", {**body, "to_account": other_account.number}, "retry-me"
    )
    assert fixed.status_code == 201, fixed.content


def test_a_refusal_that_reached_the_ledger_is_kept_and_replayed(auth_client, account):
    first = post(
        auth_client, account_url(account, "withdraw"), {"amount": "900.00"}, key="too-much"
    )
    assert_problem(first, 422, "insufficient_funds")
    auth_client.post(account_url(account, "deposit"), {"amount": "1000.00"}, format="json")
    before = (balance_of(account), movements_of(account))

    # Enough money now, but the key's answer is the first one: the withdrawal never happens.
    retry = post(
        auth_client, account_url(account, "withdraw"), {"amount": "900.00"}, key="too-much"
    )

    # The very first answer, request id included (so not assert_problem, which wants this one's).
    assert (retry.status_code, retry["Content-Type"]) == (422, PROBLEM_CONTENT_TYPE)
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == first.json()
    assert (balance_of(account), movements_of(account)) == before


@pytest.mark.parametrize(
    "key",
    ["", "x" * 256, "caf\u00e9", "tab\there", "bell\x07", "del\x7f"],
    ids=["empty", "too-long", "non-ascii", "tab", "control", "del"],
)
def test_a_malformed_key_is_400_and_moves_nothing(auth_client, account, key):
    response = post(auth_client, account_url(account, "deposit"), {"amount": "1"}, key=key)
    assert "Idempotency-Key" in assert_problem(response, 400, "validation_error")["errors"]
    assert balance_of(account) == Decimal("500.00")


def test_the_longest_and_most_varied_valid_keys_are_accepted(auth_client, account):
    for key in ["k" * 255, " ~!{}[] printable ASCII 0-9 ", "a"]:
        assert (
            post(auth_client, account_url(account, "deposit"), {"amount": "1"}, key=key).status_code
            == 201
        )
    assert balance_of(account) == Decimal("503.00")


def _claim(user, key: str, age: timedelta, body: dict, path: str) -> IdempotencyKey:
    fingerprint = request_fingerprint(method="POST", path=path, data=body)
    stamp = timezone.now() - age
    return IdempotencyKey.objects.create(
        user=user, key=key, fingerprint=fingerprint, created_at=stamp, locked_at=stamp
    )


def test_a_key_still_being_processed_is_409(auth_client, user, account):
    _claim(user, "busy", timedelta(seconds=1), {"amount": "3"}, account_url(account, "deposit"))
    response = post(auth_client, account_url(account, "deposit"), {"amount": "3"}, key="busy")
    assert_problem(response, 409, "idempotency_key_in_use")
    assert balance_of(account) == Decimal("500.00")


def test_a_claim_abandoned_by_a_dead_worker_is_taken_over(auth_client, user, account, settings):
    settings.IDEMPOTENCY_CLAIM_TIMEOUT = 30
    _claim(user, "orphan", timedelta(seconds=31), {"amount": "3"}, account_url(account, "deposit"))
    response = post(auth_client, account_url(account, "deposit"), {"amount": "3"}, key="orphan")
    assert response.status_code == 201, response.content
    assert IdempotencyKey.objects.get(key="orphan").status == IdempotencyKey.Status.COMPLETED
    assert balance_of(account) == Decimal("503.00")


# The SQL engine never leaves a claim to take over: its claim commits with its movement. What a
# SQL-engine retry does to a Python-engine worker's stalled claim is the test above.
@pytest.mark.parametrize("ledger_engine", ["python"], indirect=True)
def test_a_slow_worker_whose_claim_was_taken_over_moves_no_money(user, account):
    fingerprint = request_fingerprint(method="POST", path="/slow", data={})

    def slow_deposit(on_posted):
        # While this worker was stalled, a retry took its claim over.
        later = timezone.now() + timedelta(seconds=1)
        IdempotencyKey.objects.filter(key="slow").update(locked_at=later)
        return services.deposit(
            account_number=account.number, amount=Decimal("8"), actor=user, on_posted=on_posted
        )

    with pytest.raises(IdempotencyKeyInUse):
        run_idempotently(
            user=user,
            key="slow",
            fingerprint=fingerprint,
            move=slow_deposit,
            render=str,
            render_error=str,
        )

    assert balance_of(account) == Decimal("500.00")
    # The claim still belongs to the retry that took it over.
    assert IdempotencyKey.objects.get(key="slow").status == IdempotencyKey.Status.IN_PROGRESS


def test_purge_deletes_only_keys_older_than_24_hours(auth_client, user, account):
    _claim(user, "old", timedelta(hours=24, seconds=1), {}, "/x")
    _claim(user, "recent", timedelta(hours=23, minutes=59), {}, "/x")
    post(auth_client, account_url(account, "deposit"), {"amount": "1"}, key="just-now")

    printed = run_command("purge_idempotency_keys").stdout

    assert "Deleted 1 idempotency keys" in printed

    assert set(IdempotencyKey.objects.values_list("key", flat=True)) == {"recent", "just-now"}
    assert reconcile().clean  # the answers go, the money they describe stays


@pytest.mark.django_db(transaction=True)
def test_ten_racing_requests_with_one_key_move_money_once(
    requires_postgres, client_for, user, account
):
    def withdraw(_):
        return post(
            client_for(user), account_url(account, "withdraw"), {"amount": "30.00"}, key="race"
        )

    responses = race(10, withdraw)

    statuses = sorted(response.status_code for response in responses)
    assert set(statuses) <= {201, 409}, statuses
    created = [response.json() for response in responses if response.status_code == 201]
    assert created, "at least the first request must succeed"
    assert len({body["id"] for body in created}) == 1
    for response in responses:
        if response.status_code == 409:
            assert_problem(response, 409, "idempotency_key_in_use")
    assert balance_of(account) == Decimal("470.00")
    assert Transaction.objects.filter(kind=Transaction.Kind.WITHDRAWAL).count() == 1
    assert reconcile().clean
    # Once the race is over, a retry is a replay of the one withdrawal.
    retry = withdraw(None)
    assert (retry.status_code, retry["Idempotent-Replayed"]) == (201, "true")
    assert retry.json()["id"] == created[0]["id"]
