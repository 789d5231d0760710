"""Four eyes: a request filed by one staff member executes only when a different supervisor
approves it; from the commands and from the admin alike."""

from decimal import Decimal

import pytest
from django.core.management import CommandError

from accounts.models import Account, Card
from accounts.services import freeze_account
from accounts.tests.factories import issue_test_card
from atm_project.testing.commands import run_command
from atm_project.testing.racing import race
from audit.models import AuditEvent
from backoffice import approvals
from backoffice.models import ApprovalRequest
from transactions import services as ledger
from transactions.models import Transaction

pytestmark = pytest.mark.django_db


def latest_request() -> ApprovalRequest:
    return ApprovalRequest.objects.latest("id")


@pytest.fixture
def deposit(account):
    return ledger.deposit(
        account_number=account.number, amount=Decimal("40.00"), actor=account.owner
    )


@pytest.fixture
def frozen(account, teller):
    freeze_account(number=account.number, actor=teller, reason="fraud report")
    return account


@pytest.fixture
def blocked_card(account):
    return issue_test_card(account, status=Card.Status.BLOCKED, failed_attempts=3)


def _file_by_command(kind, target) -> list[str]:
    """The filing command for each kind, with its arguments."""
    return {
        "reversal": ["reverse_transaction", str(target)],
        "unfreeze": ["unfreeze_account", target],
        "card_unblock": ["unblock_card", target],
        "daily_limit": ["set_daily_limit", target, "2500.00"],
    }[kind]


@pytest.fixture
def cases(account, deposit, blocked_card, frozen):
    """Each kind of request: how to file it, and how to see it executed."""
    return {
        "reversal": (
            deposit.pk,
            lambda: Transaction.objects.get(pk=deposit.pk).status == "reversed",
        ),
        "unfreeze": (
            account.number,
            lambda: Account.objects.get(pk=account.pk).status == "active",
        ),
        "card_unblock": (
            blocked_card.number,
            lambda: not Card.objects.get(pk=blocked_card.pk).is_blocked,
        ),
        "daily_limit": (
            account.number,
            lambda: Account.objects.get(pk=account.pk).daily_withdrawal_limit == Decimal("2500"),
        ),
    }


KINDS = ["reversal", "unfreeze", "card_unblock", "daily_limit"]


@pytest.mark.parametrize("kind", KINDS)
def test_a_command_files_and_a_different_supervisor_approves(kind, cases, teller, supervisor):
    target, executed = cases[kind]
    output = run_command(
        *_file_by_command(kind, target), "--reason", "checked", "--actor", "teller"
    ).stdout
    request = latest_request()
    assert f"Request #{request.pk} filed by teller" in output
    assert (request.kind, request.status, request.requested_by) == (kind, "pending", teller)
    assert not executed()  # filing alone changes nothing

    output = run_command("approve_request", str(request.pk), "--actor", "supervisor").stdout
    assert f"Request #{request.pk} approved by supervisor" in output
    assert executed()
    request.refresh_from_db()
    assert (request.status, request.decided_by) == ("approved", supervisor)
    approved = AuditEvent.objects.get(action="approval.approved")
    assert (approved.actor, approved.data["requested_by"]) == (supervisor, "teller")
    assert approved.data["reason"] == "checked"
    assert AuditEvent.objects.filter(action="approval.requested", actor=teller).exists()


@pytest.mark.parametrize("kind", KINDS)
def test_no_one_approves_their_own_request(kind, cases, supervisor):
    target, executed = cases[kind]
    run_command(*_file_by_command(kind, target), "--reason", "checked", "--actor", "supervisor")
    request = latest_request()
    with pytest.raises(CommandError, match="a different supervisor must decide it"):
        run_command("approve_request", str(request.pk), "--actor", "supervisor")
    with pytest.raises(approvals.ApprovalRequired) as refused:
        approvals.approve(request_id=request.pk, actor=supervisor)
    assert (refused.value.status, refused.value.code) == (403, "approval_required")
    assert not executed()
    assert latest_request().status == "pending"


def test_only_supervisors_decide(cases, teller, auditor, superuser, roles):
    target, executed = cases["unfreeze"]
    request = approvals.request_unfreeze(account_number=target, actor=teller, reason="ok")
    for outsider in ("auditor", "root"):  # a superuser outside Supervisors decides nothing
        with pytest.raises(CommandError, match="Only members of Supervisors"):
            run_command("approve_request", str(request.pk), "--actor", outsider)
    colleague = roles["Tellers"].user_set.create(username="teller2", is_staff=True)
    with pytest.raises(approvals.NotPermitted):
        approvals.approve(request_id=request.pk, actor=colleague)
    assert not executed()


def test_auditors_cannot_file(cases, auditor):
    target, _ = cases["unfreeze"]
    with pytest.raises(CommandError, match="may not file requests"):
        run_command("unfreeze_account", target, "--reason", "x", "--actor", "auditor")
    assert not ApprovalRequest.objects.exists()


def test_rejection_changes_nothing_and_is_final(cases, teller, supervisor, second_supervisor):
    target, executed = cases["reversal"]
    request = approvals.request_reversal(transaction_id=target, actor=teller, reason="dup")
    with pytest.raises(CommandError, match="--reason"):
        run_command("reject_request", str(request.pk), "--actor", "supervisor")
    run_command(
        "reject_request", str(request.pk), "--reason", "not a duplicate", "--actor", "supervisor"
    )
    request.refresh_from_db()
    assert (request.status, request.outcome) == ("rejected", "not a duplicate")
    assert not executed()
    with pytest.raises(CommandError, match="already rejected"):
        run_command("approve_request", str(request.pk), "--actor", "supervisor2")
    assert not executed()
    assert AuditEvent.objects.get(action="approval.rejected").actor == supervisor


def test_one_pending_request_per_target(cases, teller):
    target, _ = cases["card_unblock"]
    approvals.request_card_unblock(card_number=target, actor=teller, reason="first")
    with pytest.raises(CommandError, match="already pending"):
        run_command("unblock_card", target, "--reason", "second", "--actor", "teller")


def test_a_refused_execution_rolls_the_approval_back(cases, teller, supervisor, blocked_card):
    target, _ = cases["card_unblock"]
    request = approvals.request_card_unblock(card_number=target, actor=teller, reason="ok")
    blocked_card.status, blocked_card.failed_attempts = Card.Status.ACTIVE, 0
    blocked_card.save(update_fields=["status", "failed_attempts"])  # unblocked meanwhile
    with pytest.raises(CommandError, match="not blocked"):
        run_command("approve_request", str(request.pk), "--actor", "supervisor")
    request.refresh_from_db()
    assert request.status == "pending"  # to be rejected; nothing half-done
    assert not AuditEvent.objects.filter(action="approval.approved").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["approve_request", "1"], "--actor"),
        (["approve_request", "1", "--actor", "nobody"], "not an active staff user"),
        (["approve_request", "999", "--actor", "supervisor"], "No request #999"),
        (["set_daily_limit", "{number}", "-1", "--reason", "x", "--actor", "teller"], "limit"),
        (["set_daily_limit", "{number}", "1.001", "--reason", "x", "--actor", "teller"], "limit"),
        (["reverse_transaction", "nope", "--reason", "x", "--actor", "teller"], "No transaction"),
        (["unfreeze_account", "9999999999", "--reason", "x", "--actor", "teller"], "No customer"),
    ],
)
def test_commands_fail_clearly(account, teller, supervisor, args, message):
    with pytest.raises(CommandError, match=message):
        run_command(*[arg.format(number=account.number) for arg in args])
    assert not ApprovalRequest.objects.exists()


def test_an_inactive_staff_member_cannot_act(account, teller):
    teller.is_active = False
    teller.save(update_fields=["is_active"])
    with pytest.raises(CommandError, match="not an active staff user"):
        run_command(
            "set_daily_limit", account.number, "50.00", "--reason", "x", "--actor", "teller"
        )


@pytest.mark.django_db(transaction=True)
def test_two_supervisors_approving_at_once_execute_exactly_once(
    requires_postgres, account, teller, supervisor, second_supervisor
):
    deposit = ledger.deposit(
        account_number=account.number, amount=Decimal("40"), actor=account.owner
    )
    request = approvals.request_reversal(transaction_id=deposit.pk, actor=teller, reason="dup")
    supervisors = [supervisor, second_supervisor]
    outcomes = race(
        2,
        lambda i: approvals.approve(request_id=request.pk, actor=supervisors[i]),
        return_exceptions=True,
    )
    assert sorted(type(outcome).__name__ for outcome in outcomes) == [
        "ApprovalRequest",
        "RequestNotPending",
    ]
    assert Transaction.objects.filter(reverses=deposit).count() == 1
    assert AuditEvent.objects.filter(action="approval.approved").count() == 1
    account.refresh_from_db()
    assert account.balance == Decimal("500.00")
