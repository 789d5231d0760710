"""Writes to accounts: opening, closing, and the one lock helper every money movement uses."""

import secrets
from collections.abc import Iterable
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Mod

from atm_project.problems import (
    AccountNotActive,
    AccountNotEmpty,
    AccountNotFound,
    AccountStateConflict,
    InvalidRequest,
)
from audit.services import record_event

from .models import CASH_SUBACCOUNTS, Account
from .numbers import luhn_check_digit

ACCOUNT_NUMBER_BODY_DIGITS = 9
_MAX_NUMBER_ATTEMPTS = 10


def lock_accounts(*, numbers: Iterable[str], with_cash_account: bool = False) -> dict[str, Account]:
    """Lock the accounts with these numbers, always in primary-key order, and return them.

    One query. Every service that moves money locks through here, so two transfers between the
    same accounts in opposite directions take the locks in the same order and cannot deadlock.
    `with_cash_account` also locks, for each customer account named, the bank's cash sub-account
    of its currency and shard (the other leg of a deposit or withdrawal; `cash_shard_of`), in
    the same query and the same order: only the one sub-account, so movements on accounts of
    other shards do not wait for it.
    Must be called inside a transaction. On SQLite it is a plain read: IMMEDIATE transactions
    already hold the database's single write lock.
    """
    numbers = set(numbers)
    wanted = Q(number__in=numbers)
    if with_cash_account:
        served = (
            Account.objects.filter(number__in=numbers, currency=OuterRef("currency"))
            .annotate(shard=Mod("pk", CASH_SUBACCOUNTS))
            .filter(shard=OuterRef("cash_shard"))
        )
        wanted |= Q(Exists(served), kind=Account.Kind.INTERNAL)
    locked = Account.objects.select_for_update(of=("self",)).filter(wanted).order_by("pk")
    return {account.number: account for account in locked}


def cash_shard_of(account: Account) -> int:
    """Which of its currency's cash sub-accounts takes a customer account's cash legs."""
    return account.pk % CASH_SUBACCOUNTS


def generate_account_number() -> str:
    """A random 10-digit number (no leading zero) whose last digit is a Luhn check digit."""
    body = str(secrets.randbelow(9 * 10 ** (ACCOUNT_NUMBER_BODY_DIGITS - 1)) + 10**8)
    return body + luhn_check_digit(body)


def _create_with_fresh_number(find_existing=lambda: None, **fields) -> Account:
    """Insert an account under a new random number; the unique indexes settle any race.

    `find_existing` returns an account that makes the insert unnecessary (one that a concurrent
    request created first); it is asked before every attempt.
    """
    for _ in range(_MAX_NUMBER_ATTEMPTS):
        existing = find_existing()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                return Account.objects.create(number=generate_account_number(), **fields)
        except IntegrityError:
            continue  # the number was taken, or a concurrent request created the account
    raise RuntimeError("Could not allocate a free account number")


def open_account(*, owner, kind: str = Account.Kind.CHECKING, currency: str = "USD") -> Account:
    # The cash sub-accounts exist before any account of their currency, so deposits and
    # withdrawals can always lock theirs.
    ensure_cash_subaccounts(currency=currency)
    with transaction.atomic():
        account = _create_with_fresh_number(owner=owner, kind=kind, currency=currency)
        record_event(
            action="account.opened",
            actor=owner,
            target=account,
            data={"number": account.number, "kind": kind, "currency": currency},
        )
    return account


def ensure_cash_subaccounts(*, currency: str) -> None:
    """Create whichever of the bank's CASH_SUBACCOUNTS cash sub-accounts of a currency do not
    exist yet. One query when they all do; racing callers create each shard once (the unique
    constraint on currency and shard decides)."""
    cash = Account.objects.filter(kind=Account.Kind.INTERNAL, currency=currency)
    existing = set(cash.values_list("cash_shard", flat=True))
    for shard in sorted(set(range(CASH_SUBACCOUNTS)) - existing):
        _create_with_fresh_number(
            find_existing=cash.filter(cash_shard=shard).first,
            owner=None,
            kind=Account.Kind.INTERNAL,
            currency=currency,
            cash_shard=shard,
        )


def close_account(*, number: str, owner) -> Account:
    """Close an empty account; a closed account refuses every movement but stays readable."""
    with transaction.atomic():
        account = lock_accounts(numbers=[number]).get(number)
        if account is None or account.owner_id != owner.pk:
            raise AccountNotFound("No such account.")
        if account.status == Account.Status.CLOSED:
            raise AccountNotActive(f"Account {number} is already closed.")
        # A freeze is the bank's decision; closing would end it behind staff's back.
        if account.status == Account.Status.FROZEN:
            raise AccountNotActive(f"Account {number} is frozen.")
        if account.balance != Decimal("0.00"):
            raise AccountNotEmpty(
                f"Account {number} holds {account.balance}; only an account at 0.00 can be closed."
            )
        account.status = Account.Status.CLOSED
        account.save(update_fields=["status"])
        record_event(action="account.closed", actor=owner, target=account, data={"number": number})
    return account


def require_reason(reason: str | None) -> str:
    """Staff actions (freeze, unfreeze, reversal) must say why; the reason is what gets audited."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("reason", "A reason is required.")
    return reason


def freeze_account(*, number: str, actor, reason: str) -> Account:
    """Staff: stop every movement in or out of an active account; it stays readable."""
    return _change_status(
        number=number,
        actor=actor,
        reason=reason,
        from_status=Account.Status.ACTIVE,
        to_status=Account.Status.FROZEN,
    )


def unfreeze_account(*, number: str, actor, reason: str) -> Account:
    """Staff: make a frozen account active again."""
    return _change_status(
        number=number,
        actor=actor,
        reason=reason,
        from_status=Account.Status.FROZEN,
        to_status=Account.Status.ACTIVE,
    )


def _change_status(*, number: str, actor, reason: str, from_status: str, to_status: str) -> Account:
    """Move a customer account between states under its row lock, so that no movement that
    checked the old state can commit after the change. `actor` and `reason` are for the audit
    record, written inside this same transaction."""
    require_reason(reason)
    with transaction.atomic():
        account = lock_accounts(numbers=[number]).get(number)
        # The bank's cash sub-accounts are not customer accounts and have no such states.
        if account is None or account.is_internal:
            raise AccountNotFound(f"No customer account {number}.")
        if account.status != from_status:
            raise AccountStateConflict(
                f"Account {number} is {account.status}; it must be {from_status} to become "
                f"{to_status}."
            )
        account.status = to_status
        account.save(update_fields=["status"])
        record_event(
            action=_STATUS_EVENTS[to_status],
            actor=actor,
            target=account,
            data={"number": number, "reason": reason.strip(), "from": from_status},
        )
    return account


_STATUS_EVENTS = {
    Account.Status.FROZEN: "account.frozen",
    Account.Status.ACTIVE: "account.unfrozen",
}


DAILY_LIMIT_MAX_DIGITS = 16


def validate_daily_limit(value) -> Decimal:
    """A daily withdrawal limit: a decimal amount >= 0.00 with at most 2 places."""
    try:
        limit = Decimal(str(value).strip())
    except ArithmeticError:
        limit = None
    if (
        limit is None
        or not limit.is_finite()
        or limit < 0
        or limit.as_tuple().exponent < -2
        or limit.adjusted() >= DAILY_LIMIT_MAX_DIGITS
    ):
        raise InvalidRequest(
            "daily_withdrawal_limit", "A limit is an amount of at least 0.00, with 2 places."
        )
    return limit.quantize(Decimal("0.01"))


def set_daily_withdrawal_limit(*, number: str, limit, actor, reason: str) -> Account:
    """Staff: change how much an account may withdraw per bank day, under its row lock, so a
    withdrawal checking the old limit cannot commit after the change."""
    require_reason(reason)
    limit = validate_daily_limit(limit)
    with transaction.atomic():
        account = lock_accounts(numbers=[number]).get(number)
        if account is None or account.is_internal:
            raise AccountNotFound(f"No customer account {number}.")
        if account.status == Account.Status.CLOSED:
            raise AccountStateConflict(f"Account {number} is closed.")
        previous = account.daily_withdrawal_limit
        account.daily_withdrawal_limit = limit
        account.save(update_fields=["daily_withdrawal_limit"])
        record_event(
            action="account.daily_limit_changed",
            actor=actor,
            target=account,
            data={"number": number, "from": previous, "to": limit, "reason": reason.strip()},
        )
    return account
