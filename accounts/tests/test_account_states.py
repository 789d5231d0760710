"""Account states active / frozen / closed: who can move them, and what each state refuses."""

from decimal import Decimal

import pytest
from django.core.management import CommandError
from django.db.models import ProtectedError

from accounts.models import Account
from accounts.services import freeze_account, unfreeze_account
from atm_project.problems import AccountNotFound, AccountStateConflict, InvalidRequest
from atm_project.testing.clients import account_url
from atm_project.testing.commands import run_command
from atm_project.testing.problems import assert_problem
from audit.models import AuditEvent
from transactions.models import Transaction
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def freeze(account) -> Account:
    return freeze_account(number=account.number, actor=None, reason="suspected fraud")


def status_of(account) -> str:
    account.refresh_from_db()
    return account.status


def assert_refused_as_not_active(response) -> None:
    assert_problem(response, 409, "account_not_active")


def movement_attempts(client, account, other):
    """Every way money could move in or out of `account`, as the owner of `account` sees it."""
    return {
        "deposit": lambda: client.post(
            account_url(account, "deposit"), {"amount": "5"}, format="json"
        ),
        "withdraw": lambda: client.post(
            account_url(account, "withdraw"), {"amount": "5"}, format="json"
        ),
        "transfer out": lambda: client.post(
            "/api/v1/transfers/",
            {"from_account": account.number, "to_account": other.number, "amount": "5"},
            format="json",
        ),
        "transfer in": lambda: client.post(
            "/api/v1/transfers/",
            {"from_account": other.number, "to_account": account.number, "amount": "5"},
            format="json",
        ),
    }


@pytest.fixture
def second_account(account_factory, user):
    return account_factory(owner=user, balance="100.00")


@pytest.mark.parametrize("attempt", ["deposit", "withdraw", "transfer out", "transfer in"])
def test_a_frozen_account_refuses_every_movement(auth_client, account, second_account, attempt):
    freeze(account)
    before = Transaction.objects.count()

    assert_refused_as_not_active(movement_attempts(auth_client, account, second_account)[attempt]())

    assert Transaction.objects.count() == before
    account.refresh_from_db()
    second_account.refresh_from_db()
    assert (account.balance, second_account.balance) == (Decimal("500.00"), Decimal("100.00"))


@pytest.mark.parametrize("attempt", ["deposit", "withdraw", "transfer out", "transfer in"])
def test_a_closed_account_refuses_every_movement(auth_client, user, account_factory, attempt):
    emptied = account_factory(owner=user)
    funded = account_factory(owner=user, balance="100.00")
    assert auth_client.post(account_url(emptied, "close")).status_code == 200

    assert_refused_as_not_active(movement_attempts(auth_client, emptied, funded)[attempt]())


@pytest.mark.parametrize("action", ["", "balance", "transactions", "mini-statement"])
def test_frozen_and_closed_accounts_stay_readable(auth_client, user, account_factory, action):
    frozen = account_factory(owner=user, balance="20.00")
    freeze(frozen)
    closed = account_factory(owner=user)
    auth_client.post(account_url(closed, "close"))
    for account in (frozen, closed):
        response = auth_client.get(account_url(account, action))
        assert response.status_code == 200, response.content
    assert auth_client.get(account_url(frozen)).json()["status"] == "frozen"
    assert auth_client.get(account_url(closed)).json()["status"] == "closed"


def test_unfreezing_lets_money_move_again(auth_client, account):
    freeze(account)
    unfrozen = unfreeze_account(number=account.number, actor=None, reason="customer verified")
    assert unfrozen.status == status_of(account) == Account.Status.ACTIVE
    response = auth_client.post(account_url(account, "withdraw"), {"amount": "5"}, format="json")
    assert response.status_code == 201


def test_freezing_a_frozen_account_or_unfreezing_an_active_one_is_a_conflict(account):
    with pytest.raises(AccountStateConflict):
        unfreeze_account(number=account.number, actor=None, reason="r")
    freeze(account)
    with pytest.raises(AccountStateConflict):
        freeze(account)
    assert status_of(account) == Account.Status.FROZEN


def test_a_closed_account_can_be_neither_frozen_nor_unfrozen(auth_client, user, account_factory):
    closed = account_factory(owner=user)
    auth_client.post(account_url(closed, "close"))
    for change in (freeze_account, unfreeze_account):
        with pytest.raises(AccountStateConflict):
            change(number=closed.number, actor=None, reason="r")
    assert status_of(closed) == Account.Status.CLOSED


def test_the_banks_cash_subaccounts_and_unknown_numbers_are_not_found(account):
    cash = list(Account.objects.filter(kind=Account.Kind.INTERNAL, currency="USD"))
    for number in [*(sub.number for sub in cash), "9999999999"]:
        with pytest.raises(AccountNotFound):
            freeze_account(number=number, actor=None, reason="r")
    assert {status_of(sub) for sub in cash} == {Account.Status.ACTIVE}


@pytest.mark.parametrize("reason", ["", "   ", None])
def test_a_reason_is_required(account, reason):
    with pytest.raises(InvalidRequest):
        freeze_account(number=account.number, actor=None, reason=reason)
    assert status_of(account) == Account.Status.ACTIVE


# ---------------------------------------------------------------- closing


def test_closing_an_account_that_holds_money_is_409_account_not_empty(auth_client, account):
    response = auth_client.post(account_url(account, "close"))
    assert_problem(response, 409, "account_not_empty")
    assert status_of(account) == Account.Status.ACTIVE


def test_an_account_emptied_to_zero_can_be_closed_once(auth_client, account):
    auth_client.post(account_url(account, "withdraw"), {"amount": "500.00"}, format="json")
    closed = auth_client.post(account_url(account, "close"))
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed"
    assert_refused_as_not_active(auth_client.post(account_url(account, "close")))


def test_a_frozen_account_cannot_be_closed_by_its_owner(auth_client, user, account_factory):
    empty = account_factory(owner=user)
    freeze(empty)
    assert_refused_as_not_active(auth_client.post(account_url(empty, "close")))
    assert status_of(empty) == Account.Status.FROZEN


def test_someone_elses_account_cannot_be_closed(auth_client, other_user, account_factory):
    theirs = account_factory(owner=other_user)
    assert auth_client.post(account_url(theirs, "close")).status_code == 404
    assert status_of(theirs) == Account.Status.ACTIVE


def test_an_account_with_entries_cannot_be_deleted(account):
    with pytest.raises(ProtectedError):
        account.delete()
    assert Account.objects.filter(pk=account.pk).exists()


# ---------------------------------------------------------------- commands


# Unfreezing is a four-eyes request: its commands are tested in backoffice/tests.
def test_freeze_command_names_its_actor(account):
    staff = UserFactory(username="teller-1", is_staff=True)
    output = run_command(
        "freeze_account", account.number, "--reason", "card skimmed", "--actor", "teller-1"
    ).stdout
    assert "frozen by teller-1" in output
    assert status_of(account) == Account.Status.FROZEN
    assert AuditEvent.objects.get(action="account.frozen").actor == staff


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["9999999999", "--reason", "x", "--actor", "clerk"], "No customer account 9999999999"),
        (["{number}", "--reason", "  ", "--actor", "clerk"], "reason is required"),
        (["{number}", "--actor", "clerk"], "--reason"),
        (["{number}", "--reason", "x"], "--actor"),
        (["{number}", "--reason", "x", "--actor", "{owner}"], "not an active staff user"),
    ],
    ids=["unknown", "blank-reason", "no-reason", "no-actor", "customer-as-actor"],
)
def test_freeze_command_fails_clearly(account, args, message):
    UserFactory(username="clerk", is_staff=True)
    args = [arg.format(number=account.number, owner=account.owner.username) for arg in args]
    with pytest.raises(CommandError, match=message):
        run_command("freeze_account", *args)
    assert status_of(account) == Account.Status.ACTIVE
