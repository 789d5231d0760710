"""The only code that changes a balance.

Every function here checks what it can before touching the database (the amount, the accounts'
distinctness, the start of the bank's day), then runs one short database transaction: lock the
accounts involved (in primary-key order, through `accounts.services.lock_accounts`), check the
rules that depend on their state under the lock, then post a transaction whose entries sum to
zero. `on_posted` runs inside that same transaction, so what a caller records about the movement
(the idempotent answer) commits or rolls back with it.

Holds (two-phase cash withdrawal) live here too: `create_hold` runs a withdrawal's checks under
the account's lock and reserves the money instead of posting it; `capture_hold` posts the one
withdrawal through `_post`; `void_hold` releases it. Funds and the daily limit count the pending,
unexpired holds (`selectors.held_amount`), so every check sees what is reserved. Expiry is read
from `expires_at` at the moment of the check, taken after the locks: no job has to run for an
expired hold's money to be available again. Lock order, everywhere: a hold's row (capture, void,
expire_holds), then accounts in primary-key order, then the audit chain of the account the
movement is about (`audit.services.account_chain`: one row per account, so movements on
different accounts share no lock at all; deposits and withdrawals lock only the cash
sub-account of their account's shard). No path takes an account and then a hold, so the two
cannot deadlock.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Sum, Value, When
from django.utils import timezone

from accounts.models import Account
from accounts.services import cash_shard_of, lock_accounts, require_reason
from atm_project.metrics import count_money_movement
from atm_project.money import require_valid_amount
from atm_project.problems import (
    AccountNotActive,
    AccountNotFound,
    CaptureExceedsHold,
    CurrencyMismatch,
    DailyLimitExceeded,
    HoldNotFound,
    HoldNotPending,
    InsufficientFunds,
    InvalidRequest,
    SameAccountTransfer,
    TransactionAlreadyReversed,
)
from audit.services import account_chain, record_event

from . import sql_posting
from .models import Entry, Hold, Transaction
from .selectors import held_amount
from .sql_posting import Claim, Replay


@dataclass(frozen=True)
class Leg:
    account: Account
    amount: Decimal  # signed: money into the account is positive


OnPosted = Callable[["Transaction"], None] | None
# Called with the hold inside the transaction that creates or voids it (the idempotent answer).
OnHeld = Callable[["Hold"], None] | None


@count_money_movement("deposit")
def deposit(
    *,
    account_number: str,
    amount: Decimal,
    actor,
    description: str = "",
    on_posted: OnPosted = None,
    claim: Claim | None = None,
) -> Transaction | Replay:
    amount = require_valid_amount(amount)
    if _posts_in_sql(on_posted, claim):
        return sql_posting.post(
            kind=Transaction.Kind.DEPOSIT,
            account_number=account_number,
            amount=amount,
            actor=actor,
            description=description,
            claim=claim,
        )
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[account_number], with_cash_account=True)
        account = _customer_account(accounts, account_number, actor)
        _require_active(account)
        cash = _cash_account(accounts, account)
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
    claim: Claim | None = None,
) -> Transaction | Replay:
    amount = require_valid_amount(amount)
    day_started = start_of_bank_day()
    if _posts_in_sql(on_posted, claim):
        return sql_posting.post(
            kind=Transaction.Kind.WITHDRAWAL,
            account_number=account_number,
            amount=amount,
            actor=actor,
            description=description,
            day_started=day_started,
            claim=claim,
        )
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[account_number], with_cash_account=True)
        account = _customer_account(accounts, account_number, actor)
        _require_active(account)
        held = held_amount(account, at=timezone.now())
        _require_funds(account, amount, held=held)
        _require_within_daily_limit(account, amount, since=day_started, held=held)
        cash = _cash_account(accounts, account)
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
    claim: Claim | None = None,
) -> Transaction | Replay:
    amount = require_valid_amount(amount)
    if from_account == to_account:
        raise SameAccountTransfer()
    if _posts_in_sql(on_posted, claim):
        return sql_posting.post(
            kind=Transaction.Kind.TRANSFER,
            account_number=from_account,
            to_account=to_account,
            amount=amount,
            actor=actor,
            description=description,
            claim=claim,
        )
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
        _require_funds(source, amount, held=held_amount(source, at=timezone.now()))
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
            .filter(pk=as_uuid(transaction_id))
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
        now = timezone.now()
        for leg in legs:
            if leg.account.status == Account.Status.CLOSED:
                raise AccountNotActive(f"Account {leg.account.number} is closed.")
            if leg.amount < 0 and not leg.account.is_internal:
                # Money reserved by a hold is promised to the cash already dispensed against it.
                _require_funds(leg.account, -leg.amount, held=held_amount(leg.account, at=now))
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


def create_hold(
    *,
    account_number: str,
    amount: Decimal,
    actor,
    description: str = "",
    expires_in: int | None = None,
    on_posted: OnHeld = None,
) -> Hold:
    """Reserve money for a cash withdrawal: exactly a withdrawal's checks, under the account's
    row lock, counting the pending holds; nothing is posted until the hold is captured."""
    amount = require_valid_amount(amount)
    lifetime = require_hold_lifetime(expires_in)
    day_started = start_of_bank_day()
    with transaction.atomic(durable=True):
        accounts = lock_accounts(numbers=[account_number])
        account = _customer_account(accounts, account_number, actor)
        now = timezone.now()
        _require_active(account)
        held = held_amount(account, at=now)
        _require_funds(account, amount, held=held)
        _require_within_daily_limit(account, amount, since=day_started, held=held)
        hold = Hold.objects.create(
            account=account,
            amount=amount,
            currency=account.currency,
            description=description,
            initiated_by=actor,
            created_at=now,
            expires_at=now + timedelta(seconds=lifetime),
        )
        _answer(on_posted, hold)
        _record_hold_event("hold.created", hold, actor, expires_at=hold.expires_at)
        return hold


def capture_hold(
    *, hold_id, actor, amount: Decimal | None = None, on_posted: OnPosted = None
) -> Transaction:
    """Post the withdrawal of a pending hold, once: the whole hold, or less (the rest is
    released). The funds were reserved, so it needs no funds or daily-limit check; a hold
    authorised before its account was frozen can still be captured (its cash was paid out)."""
    if amount is not None:
        amount = require_valid_amount(amount)
    with transaction.atomic(durable=True):
        hold = _locked_hold(hold_id, actor)
        accounts = lock_accounts(numbers=[hold.account.number], with_cash_account=True)
        account = hold.account = accounts[hold.account.number]
        now = timezone.now()
        _require_pending(hold, now)
        amount = hold.amount if amount is None else amount
        if amount > hold.amount:
            raise CaptureExceedsHold(f"Capture of {amount} is more than the hold's {hold.amount}.")
        hold.status = Hold.Status.CAPTURED
        hold.captured_amount = amount
        hold.closed_at = now
        hold.save(update_fields=["status", "captured_amount", "closed_at"])
        withdrawal = _post(
            kind=Transaction.Kind.WITHDRAWAL,
            legs=[Leg(account, -amount), Leg(_cash_account(accounts, account), amount)],
            description=hold.description,
            actor=actor,
            on_posted=on_posted,
            hold=hold,
        )
        _record_hold_event(
            "hold.captured",
            hold,
            actor,
            captured_amount=amount,
            released=hold.amount - amount,
            transaction=withdrawal.pk,
        )
        return withdrawal


def void_hold(*, hold_id, actor, reason: str = Hold.VoidReason.OTHER, on_posted: OnHeld = None):
    """Release a pending hold without posting anything (the cash was not paid out)."""
    if reason not in Hold.VoidReason.values:
        raise InvalidRequest("reason", f"One of: {', '.join(Hold.VoidReason.values)}.")
    with transaction.atomic(durable=True):
        # Voiding only gives money back, so it needs the hold's lock (against a racing capture),
        # not the account's.
        hold = _locked_hold(hold_id, actor)
        now = timezone.now()
        _require_pending(hold, now)
        hold.status = Hold.Status.VOIDED
        hold.void_reason = reason
        hold.closed_at = now
        hold.save(update_fields=["status", "void_reason", "closed_at"])
        _answer(on_posted, hold)
        _record_hold_event("hold.voided", hold, actor, reason=reason)
        return hold


def expire_holds(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """Record as expired every pending hold whose `expires_at` has passed; returns how many.

    Only a record, for reports and the audit trail: the money of such a hold was available
    again from `expires_at` on. Holds a capture or void is working on are skipped (their row is
    locked) and picked up by the next run if still pending."""
    now = now or timezone.now()
    recorded = 0
    while True:
        with transaction.atomic():
            due = list(
                Hold.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("account")
                .filter(status=Hold.Status.PENDING, expires_at__lte=now)
                .order_by("expires_at", "pk")[:batch_size]
            )
            # Each event locks its account's audit chain: in chain-name order, so two runs whose
            # batches share accounts take them in the same order and cannot deadlock.
            for hold in sorted(due, key=lambda hold: account_chain(hold.account_id)):
                hold.status = Hold.Status.EXPIRED
                hold.closed_at = now
                hold.save(update_fields=["status", "closed_at"])
                _record_hold_event("hold.expired", hold, None, expires_at=hold.expires_at)
        recorded += len(due)
        if len(due) < batch_size:
            return recorded


def require_hold_lifetime(expires_in: int | None) -> int:
    """Seconds a new hold lives: the default, or what the request asked for within the range."""
    if expires_in is None:
        return settings.HOLD_DEFAULT_SECONDS
    low, high = settings.HOLD_MIN_SECONDS, settings.HOLD_MAX_SECONDS
    whole_seconds = isinstance(expires_in, int) and not isinstance(expires_in, bool)
    if not whole_seconds or not low <= expires_in <= high:
        raise InvalidRequest("expires_in", f"Seconds, from {low} to {high}.")
    return expires_in


def _locked_hold(hold_id, actor) -> Hold:
    """The hold, locked; someone else's is answered exactly like a missing one."""
    hold = (
        Hold.objects.select_for_update(of=("self",))
        .select_related("account")
        .filter(pk=as_uuid(hold_id))
        .first()
    )
    if hold is None or hold.account.owner_id != actor.pk:
        raise HoldNotFound("No such hold.")
    return hold


def _require_pending(hold: Hold, now: datetime) -> None:
    status = hold.status_at(now)
    if status != Hold.Status.PENDING:
        raise HoldNotPending(f"Hold {hold.id} is {status}.")


def _answer(on_posted: OnHeld, hold: Hold) -> None:
    if on_posted is not None:
        on_posted(hold)


def _record_hold_event(action: str, hold: Hold, actor, **data) -> None:
    # Last in the transaction, like every audit record (the account's chain is locked till
    # commit).
    record_event(
        action=action,
        actor=actor,
        target=hold,
        chain=account_chain(hold.account_id),
        data={
            "account": hold.account.number,
            "amount": hold.amount,
            "currency": hold.currency,
            **data,
        },
    )


def _posts_in_sql(on_posted: OnPosted, claim: Claim | None) -> bool:
    """Whether the SQL engine posts this movement. Each engine stores the idempotent answer its
    own way: the Python engine through `on_posted`, inside its transaction; the SQL engine from
    the claim, inside its one call. Handing an engine the other's is a programming error."""
    in_sql = sql_posting.posts_in_sql()
    if in_sql and on_posted is not None:
        raise TypeError("The SQL engine stores the answer from `claim`, not `on_posted`")
    if not in_sql and claim is not None:
        raise TypeError("The Python engine stores the answer through `on_posted`, not `claim`")
    return in_sql


def as_uuid(transaction_id) -> uuid.UUID | None:
    """The id as a UUID, or None for text that is not one (which then matches no row)."""
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


def _cash_account(accounts: dict[str, Account], customer: Account) -> Account:
    """The cash sub-account that takes the customer account's cash legs (locked with it)."""
    shard = cash_shard_of(customer)
    for account in accounts.values():
        if account.is_internal and (account.currency, account.cash_shard) == (
            customer.currency,
            shard,
        ):
            return account
    raise RuntimeError(f"The bank has no cash sub-account {shard} for {customer.currency}")


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


def _require_funds(account: Account, amount: Decimal, *, held: Decimal) -> None:
    """Available balance (balance less pending holds) must cover the amount."""
    if account.balance - held - amount >= 0:
        return
    if held:
        raise InsufficientFunds(
            f"Available balance {account.balance - held} (balance {account.balance}, "
            f"{held} held) is less than {amount}."
        )
    raise InsufficientFunds(f"Balance {account.balance} is less than {amount}.")


def _require_within_daily_limit(
    account: Account, amount: Decimal, *, since: datetime, held: Decimal
) -> None:
    """Withdrawn today + pending holds (each will be a withdrawal once captured) + this one."""
    already = withdrawn_today(account, since=since)
    if already + held + amount > account.daily_withdrawal_limit:
        pending = f" and {held} held" if held else ""
        raise DailyLimitExceeded(
            f"Withdrawn today {already}{pending}; with {amount} that exceeds the daily limit "
            f"of {account.daily_withdrawal_limit}."
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
    hold: Hold | None = None,
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
        hold=hold,
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
    # Last, in the same transaction: the account's audit chain is then locked only until commit.
    record_event(
        action=f"money.{kind}",
        actor=actor,
        target=posted,
        chain=account_chain(account.pk),
        data={
            "amount": posted.amount,
            "currency": posted.currency,
            "account": account.number,
            "counterparty": counterparty.number if counterparty else "",
            "reverses": reverses.pk if reverses else None,
            **({"hold": hold.pk} if hold else {}),
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
