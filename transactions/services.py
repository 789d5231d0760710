"""The only code that changes a balance.

Every function here checks what it can before touching the database (the amount, the accounts'
distinctness, the start of the bank's day), then runs one short database transaction: lock the
accounts involved (in primary-key order, through `accounts.services.lock_accounts`), check the
rules that depend on their state under the lock, then post a transaction whose entries sum to
zero. `on_posted` runs inside that same transaction, so what a caller records about the movement
(the idempotent answer) commits or rolls back with it.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Sum, Value, When
from django.utils import timezone

from accounts.models import Account
from accounts.services import lock_accounts, require_reason
from atm_project.metrics import count_money_movement
from atm_project.money import require_valid_amount
from atm_project.problems import (
    AccountNotActive,
    AccountNotFound,
    CurrencyMismatch,
    DailyLimitExceeded,
    InsufficientFunds,
    InvalidRequest,
    SameAccountTransfer,
    TransactionAlreadyReversed,
)
from audit.services import record_event

from .models import Entry, Transaction


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: Decimal  # signed: money into the account is positive


OnPosted = Callable[["Transaction"], None] | None


@count_money_movement("deposit")
def deposit(
    *,
    account_number: str,
    amount: Decimal,
    actor,
    description: str = "",
    on_posted: OnPosted = None,
) -> Transaction:
    amount = require_valid_amount(amount)
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[account_number], with_cash_account=True)
        account = _customer_account(accounts, account_number, actor)
        _require_active(account)
        cash = _cash_account(accounts, account.currency)
        return _post(
            kind=Transaction.Kind.DEPOSIT,
            legs=[Leg(account, amount), Leg(cash, -amount)],
            description=description,
            actor=actor,
            on_posted=on_posted,
        )


@count_money_movement("withdrawal")
def withdraw(
    *,
    account_number: str,
    amount: Decimal,
    actor,
    description: str = "",
    on_posted: OnPosted = None,
) -> Transaction:
    amount = require_valid_amount(amount)
    day_started = start_of_bank_day()
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[account_number], with_cash_account=True)
        account = _customer_account(accounts, account_number, actor)
        _require_active(account)
        _require_funds(account, amount)
        _require_within_daily_limit(account, amount, since=day_started)
        cash = _cash_account(accounts, account.currency)
        return _post(
            kind=Transaction.Kind.WITHDRAWAL,
            legs=[Leg(account, -amount), Leg(cash, amount)],
            description=description,
            actor=actor,
            on_posted=on_posted,
        )


@count_money_movement("transfer")
def transfer(
    *,
    from_account: str,
    to_account: str,
    amount: Decimal,
    actor,
    description: str = "",
    on_posted: OnPosted = None,
) -> Transaction:
    amount = require_valid_amount(amount)
    if from_account == to_account:
        raise SameAccountTransfer()
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[from_account, to_account])
        source = _customer_account(accounts, from_account, actor)
        target = accounts.get(to_account)
        if not _can_receive(target, source):
            raise InvalidRequest("to_account", CANNOT_RECEIVE)
        _require_active(source)
        _require_active(target)
        if source.currency != target.currency:
            raise CurrencyMismatch(
                f"Account {source.number} is in {source.currency}, "
                f"account {target.number} in {target.currency}."
            )
        _require_funds(source, amount)
        return _post(
            kind=Transaction.Kind.TRANSFER,
            legs=[Leg(source, -amount), Leg(target, amount)],
            description=description,
            actor=actor,
            on_posted=on_posted,
        )


@count_money_movement("reversal")
def reverse(*, transaction_id, actor, reason: str) -> Transaction:
    """Post the opposite of a transaction and mark it reversed; at most once, never overdrawn."""
    reason = require_reason(reason)
    # Not durable, unlike the other movements: a four-eyes approval runs it inside the
    # approval's own transaction, so the approval and the reversal commit together or not at all.
    with transaction.atomic():
        original = (
            Transaction.objects.select_for_update(of=("self",))
            .filter(pk=_as_uuid(transaction_id))
            .first()
        )
        if original is None:
            raise InvalidRequest("transaction", f"No transaction {transaction_id}.")
        if original.kind == Transaction.Kind.REVERSAL:
            raise InvalidRequest("transaction", "A reversal cannot itself be reversed.")
        if original.status == Transaction.Status.REVERSED:
            raise TransactionAlreadyReversed(f"Transaction {original.id} is already reversed.")
        original_legs = list(original.entries.values_list("account__number", "amount"))
        accounts = lock_accounts(numbers=[number for number, _ in original_legs])
        legs = [Leg(accounts[number], -amount) for number, amount in original_legs]
        for leg in legs:
            if leg.account.status == Account.Status.CLOSED:
                raise AccountNotActive(f"Account {leg.account.number} is closed.")
            if leg.amount < 0 and not leg.account.is_internal:
                _require_funds(leg.account, -leg.amount)
        reversal = _post(
            kind=Transaction.Kind.REVERSAL,
            legs=legs,
            # Customers see the description in their history; the staff reason is kept in the
            # audit trail only.
            description=f"Reversal of {original.id}",
            reason=reason,
            actor=actor,
            reverses=original,
            # The money flows back: the original's target is the reversal's source.
            account=original.counterparty or original.account,
            counterparty=original.account if original.counterparty else None,
        )
        # The one change the ledger allows to a posted transaction (models and triggers refuse
        # any other); the row lock taken above makes it certain to apply.
        Transaction.objects.mark_reversed(original.pk)
        original.status = Transaction.Status.REVERSED
        return reversal


def _as_uuid(transaction_id) -> uuid.UUID | None:
    """The id as a UUID, or None for text that is not one (which then matches no transaction)."""
    try:
        if isinstance(transaction_id, uuid.UUID):
            return transaction_id
        return uuid.UUID(str(transaction_id))
    except ValueError:
        return None


def bank_day_of(moment: datetime) -> date:
    """The calendar day, in the bank's time zone, that a moment falls on."""
    return moment.astimezone(ZoneInfo(settings.BANK_TIME_ZONE)).date()


def bank_midnight(day: date) -> datetime:
    """The moment a calendar day starts in the bank's time zone, as an aware datetime."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.BANK_TIME_ZONE))


def start_of_bank_day(moment: datetime | None = None) -> datetime:
    """Midnight of the current day in the bank's time zone, as an aware datetime."""
    return bank_midnight(bank_day_of(moment or timezone.now()))


def withdrawn_today(account: Account, *, since: datetime) -> Decimal:
    """Cash withdrawn from the account since `since` (the bank's midnight, computed before the
    lock: a request that waits on the lock across midnight counts from the day it started, the
    stricter reading), reversed withdrawals excluded."""
    total = Entry.objects.filter(
        account=account,
        kind=Transaction.Kind.WITHDRAWAL,
        created_at__gte=since,
        transaction__status=Transaction.Status.POSTED,
    ).aggregate(total=Sum("amount"))["total"]
    # Quantized: SQLite sums decimals as floats, and the figure appears in error messages.
    return -(total or Decimal("0")).quantize(Decimal("0.01"))


def _customer_account(accounts: dict[str, Account], number: str, actor) -> Account:
    account = accounts.get(number)
    # Someone else's account is answered exactly like a missing one: no enumeration.
    if account is None or account.is_internal or account.owner_id != actor.pk:
        raise AccountNotFound("No such account.")
    return account


def _cash_account(accounts: dict[str, Account], currency: str) -> Account:
    for account in accounts.values():
        if account.is_internal and account.currency == currency:
            return account
    raise RuntimeError(f"The bank has no cash account for {currency}")


# One answer for every target that is not the customer's own and cannot take the transfer, so
# it tells nothing about someone else's account beyond "it can receive".
CANNOT_RECEIVE = "No such account, or it cannot receive this transfer."


def _can_receive(target: Account | None, source: Account) -> bool:
    """Whether the transfer may go on to the detailed checks. The customer's own accounts do
    (their state and currency are theirs to know); anyone else's only if active and in the
    source's currency; internal and unknown accounts never."""
    if target is None or target.is_internal:
        return False
    if target.owner_id == source.owner_id:
        return True
    return target.is_active and target.currency == source.currency


def _require_active(account: Account) -> None:
    if not account.is_active:
        raise AccountNotActive(f"Account {account.number} is {account.status}.")


def _require_funds(account: Account, amount: Decimal) -> None:
    if account.balance - amount < 0:
        raise InsufficientFunds(f"Balance {account.balance} is less than {amount}.")


def _require_within_daily_limit(account: Account, amount: Decimal, *, since: datetime) -> None:
    already = withdrawn_today(account, since=since)
    if already + amount > account.daily_withdrawal_limit:
        raise DailyLimitExceeded(
            f"Withdrawn today {already}; with {amount} that exceeds the daily limit of "
            f"{account.daily_withdrawal_limit}."
        )


def _post(
    *,
    kind: str,
    legs: list[Leg],
    description: str,
    actor,
    reverses: Transaction | None = None,
    account: Account | None = None,
    counterparty: Account | None = None,
    on_posted: OnPosted = None,
    reason: str = "",
) -> Transaction:
    """Write a transaction and its entries and move the balances. Callers hold the locks.

    `reason` is staff's why (reversals): audited, never shown to the customer."""
    if sum(leg.amount for leg in legs) != 0:
        raise ValueError("A transaction's entries must sum to zero")
    customer_legs = [leg for leg in legs if not leg.account.is_internal]
    if account is None:
        # The account the request acted on: the one paying out, else the one paid into.
        account = min(customer_legs, key=lambda leg: leg.amount).account
        others = [leg.account for leg in customer_legs if leg.account != account]
        counterparty = others[0] if others else None
    now = timezone.now()
    posted = Transaction.objects.create(
        kind=kind,
        amount=max(leg.amount for leg in legs),
        currency=legs[0].account.currency,
        description=description,
        account=account,
        counterparty=counterparty,
        reverses=reverses,
        initiated_by=actor,
        created_at=now,
    )
    entries = []
    for leg in legs:
        leg.account.balance += leg.amount
        entries.append(
            Entry(
                transaction=posted,
                account=leg.account,
                amount=leg.amount,
                balance_after=leg.account.balance,
                kind=kind,
                created_at=now,
                counterparty_number=_counterparty_number(leg, legs),
            )
        )
    _store_balances({leg.account.pk: leg.account.balance for leg in legs})
    Entry.objects.bulk_create(entries)
    posted.legs = entries
    if on_posted is not None:
        on_posted(posted)
    # Last, in the same transaction: the audit chain's lock is then held only until commit.
    record_event(
        action=f"money.{kind}",
        actor=actor,
        target=posted,
        data={
            "amount": posted.amount,
            "currency": posted.currency,
            "account": account.number,
            "counterparty": counterparty.number if counterparty else "",
            "reverses": reverses.pk if reverses else None,
            "description": description,
            **({"reason": reason} if reason else {}),
        },
    )
    return posted


def _store_balances(balances: dict[int, Decimal]) -> None:
    """Write the new balances of every leg's account in one UPDATE (one round trip, not one per
    leg); the values were computed under the callers' row locks, like save(update_fields=...)."""
    Account.objects.filter(pk__in=balances).update(
        balance=Case(
            *(When(pk=pk, then=Value(balance)) for pk, balance in balances.items()),
            output_field=Account._meta.get_field("balance"),
        )
    )


def _counterparty_number(leg: Leg, legs: list[Leg]) -> str:
    """The other customer account of a two-legged movement; the bank's cash side is not shown."""
    others = [other.account for other in legs if other is not leg]
    if len(others) != 1 or others[0].is_internal:
        return ""
    return others[0].number
