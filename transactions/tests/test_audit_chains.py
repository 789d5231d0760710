"""Money and hold events go to the audit chain of the account they are about, so movements on
different accounts never share an audit lock; everything else stays on the bank chain."""

from decimal import Decimal

import pytest

from audit.models import AuditEvent
from audit.services import account_chain
from audit.verification import verify_chain
from transactions import services

pytestmark = pytest.mark.django_db


def chain_of(action: str, object_id) -> str:
    (chain,) = AuditEvent.objects.filter(action=action, object_id=str(object_id)).values_list(
        "chain", flat=True
    )
    return chain


def test_deposits_and_withdrawals_go_to_the_customer_accounts_chain(user, account):
    deposit = services.deposit(account_number=account.number, amount=Decimal("5"), actor=user)
    withdrawal = services.withdraw(account_number=account.number, amount=Decimal("5"), actor=user)
    assert chain_of("money.deposit", deposit.pk) == account_chain(account.pk)
    assert chain_of("money.withdrawal", withdrawal.pk) == account_chain(account.pk)


def test_a_transfer_goes_to_its_sources_chain_and_its_reversal_to_the_reversals_account(
    user, account, other_account
):
    transfer = services.transfer(
        from_account=account.number,
        to_account=other_account.number,
        amount=Decimal("7"),
        actor=user,
    )
    reversal = services.reverse(transaction_id=transfer.pk, actor=None, reason="mistake")
    assert chain_of("money.transfer", transfer.pk) == account_chain(account.pk)
    # The money flows back from the transfer's target: that is the reversal's account.
    assert reversal.account == other_account
    assert chain_of("money.reversal", reversal.pk) == account_chain(other_account.pk)


def test_hold_events_go_to_the_holds_account_chain(user, account):
    held = services.create_hold(account_number=account.number, amount=Decimal("9"), actor=user)
    withdrawal = services.capture_hold(hold_id=held.pk, actor=user)
    voided = services.create_hold(account_number=account.number, amount=Decimal("1"), actor=user)
    services.void_hold(hold_id=voided.pk, actor=user)
    expiring = services.create_hold(account_number=account.number, amount=Decimal("2"), actor=user)
    assert services.expire_holds(now=expiring.expires_at) == 1
    chain = account_chain(account.pk)
    assert {chain_of(action, held.pk) for action in ("hold.created", "hold.captured")} == {chain}
    assert chain_of("money.withdrawal", withdrawal.pk) == chain
    assert chain_of("hold.voided", voided.pk) == chain_of("hold.expired", expiring.pk) == chain


def test_other_events_stay_on_the_bank_chain_and_every_chain_verifies(user, account):
    assert chain_of("account.opened", account.pk) == "bank"
    services.deposit(account_number=account.number, amount=Decimal("5"), actor=user)
    report = verify_chain()
    assert report.ok, report.problem
    assert report.chains_checked == 2  # the bank's and the account's
