"""Account statements, built once here; `transactions.api.statements` renders them as JSON or
CSV, for the API and for `manage.py statement` alike.

A statement covers whole days in the bank's time zone. Its figures come from indexes, never from
summing an account's whole history: the opening balance is the `balance_after` of the last entry
before the period, the totals are sums over the period only. The entries are read from a database
cursor in chunks, so a long period costs constant memory in the web worker.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account
from atm_project.problems import InvalidRequest

from .models import Entry
from .services import bank_midnight

# A year and a day: a yearly statement fits, and one request cannot ask for decades.
MAX_STATEMENT_DAYS = 366
MINI_STATEMENT_SIZE = 10
_CHUNK = 500
_ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=18, decimal_places=2)


@dataclass(frozen=True)
class Statement:
    account_number: str
    first_day: date
    last_day: date
    opening_balance: Decimal
    total_credits: Decimal
    total_debits: Decimal  # positive: the money that left the account
    entries: QuerySet[Entry]  # oldest first; iterated lazily

    @property
    def closing_balance(self) -> Decimal:
        return self.opening_balance + self.total_credits - self.total_debits

    def entry_chunks(self) -> Iterator[list[Entry]]:
        """The entries, oldest first, a chunk at a time from one database cursor."""
        cursor = self.entries.iterator(chunk_size=_CHUNK)
        while chunk := list(islice(cursor, _CHUNK)):
            yield chunk


@dataclass(frozen=True)
class MiniStatement:
    account_number: str
    balance: Decimal
    entries: list[Entry]  # newest first


def validate_period(first_day: date, last_day: date) -> None:
    if last_day >= date.max:
        # The period ends at the next day's midnight, which must exist.
        raise InvalidRequest("to", f"'to' must be before {date.max.isoformat()}.")
    if first_day <= date.min:
        # Its midnight in a time zone east of UTC falls before the first representable instant.
        raise InvalidRequest("from", f"'from' must be after {date.min.isoformat()}.")
    if first_day > last_day:
        raise InvalidRequest("from", "'from' must not be after 'to'.")
    days = (last_day - first_day).days + 1
    if days > MAX_STATEMENT_DAYS:
        raise InvalidRequest(
            "to", f"A statement covers at most {MAX_STATEMENT_DAYS} days; this asks for {days}."
        )


def build_statement(*, account: Account, first_day: date, last_day: date) -> Statement:
    validate_period(first_day, last_day)
    start, end = bank_midnight(first_day), bank_midnight(last_day + timedelta(days=1))
    ledger = Entry.objects.filter(account=account, id__lte=_newest_entry_id(account))
    opening = (
        ledger.filter(created_at__lt=start)
        .order_by("-created_at", "-id")
        .values_list("balance_after", flat=True)
        .first()
    )
    period = ledger.filter(created_at__gte=start, created_at__lt=end)
    totals = period.aggregate(
        credits=Coalesce(Sum("amount", filter=Q(amount__gt=0)), Value(_ZERO), output_field=_MONEY),
        debits=Coalesce(Sum("amount", filter=Q(amount__lt=0)), Value(_ZERO), output_field=_MONEY),
    )
    return Statement(
        account_number=account.number,
        first_day=first_day,
        last_day=last_day,
        opening_balance=opening if opening is not None else _ZERO,
        total_credits=totals["credits"],
        total_debits=-totals["debits"],
        entries=period.select_related("transaction").order_by("created_at", "id"),
    )


def mini_statement(account: Account) -> MiniStatement:
    entries = (
        Entry.objects.filter(account=account)
        .select_related("transaction")
        .order_by("-id")[:MINI_STATEMENT_SIZE]
    )
    return MiniStatement(
        account_number=account.number, balance=account.balance, entries=list(entries)
    )


def _newest_entry_id(account: Account) -> int:
    """The id of the account's newest committed entry.

    Each entry is written under its account's row lock, so one account's entries become visible
    in id order. Bounding every query by this id gives the opening balance, the totals and the
    entries the same view of the ledger, even while money moves during the statement.
    """
    newest = Entry.objects.filter(account=account).order_by("-id").values_list("id", flat=True)
    return newest.first() or 0
