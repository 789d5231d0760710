"""Account statements: built once here, rendered as JSON or CSV for the API and the command.

A statement covers whole days in the bank's time zone. Its figures come from indexes, never from
summing an account's whole history: the opening balance is the `balance_after` of the last entry
before the period, the totals are sums over the period only. The entries are streamed from a
database cursor in chunks, so a long period costs constant memory in the web worker.
"""

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import islice

from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce

from accounts.models import Account
from atm_project.problems import InvalidRequest

from .api.serializers import EntrySerializer
from .models import Entry
from .services import bank_midnight

# A year and a day: a yearly statement fits, and one request cannot ask for decades.
MAX_STATEMENT_DAYS = 366
MINI_STATEMENT_SIZE = 10
_CHUNK = 500
_ZERO = Decimal("0.00")
_MONEY = DecimalField(max_digits=18, decimal_places=2)

CSV_COLUMNS = [
    "created_at",
    "transaction_id",
    "kind",
    "description",
    "counterparty",
    "amount",
    "balance_after",
]


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

    def summary(self) -> dict:
        """Everything but the entries, in the order of the JSON document."""
        return {
            "account_number": self.account_number,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "opening_balance": _money(self.opening_balance),
            "closing_balance": _money(self.closing_balance),
            "total_credits": _money(self.total_credits),
            "total_debits": _money(self.total_debits),
        }

    def entry_rows(self) -> Iterator[dict]:
        """The entries, oldest first, in the same shape as the account's history."""
        cursor = self.entries.iterator(chunk_size=_CHUNK)
        while chunk := list(islice(cursor, _CHUNK)):
            yield from EntrySerializer(chunk, many=True).data


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


def mini_statement(account: Account) -> dict:
    entries = (
        Entry.objects.filter(account=account)
        .select_related("transaction")
        .order_by("-id")[:MINI_STATEMENT_SIZE]
    )
    return {
        "account_number": account.number,
        "balance": _money(account.balance),
        "entries": EntrySerializer(entries, many=True).data,
    }


def json_chunks(statement: Statement) -> Iterator[str]:
    """The statement as one JSON document, produced piece by piece."""
    head = json.dumps(statement.summary())
    yield head[:-1] + ', "entries": ['
    separator = ""
    for row in statement.entry_rows():
        yield separator + json.dumps(row, cls=DjangoJSONEncoder)
        separator = ", "
    yield "]}\n"


def csv_chunks(statement: Statement) -> Iterator[str]:
    """The statement's entries as CSV (a header row, then one row per entry, oldest first)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(CSV_COLUMNS)
    for row in statement.entry_rows():
        yield writer.writerow([_csv_cell(row[column]) for column in CSV_COLUMNS])


def csv_filename(statement: Statement) -> str:
    return (
        f"statement-{statement.account_number}-"
        f"{statement.first_day.isoformat()}-{statement.last_day.isoformat()}.csv"
    )


def _newest_entry_id(account: Account) -> int:
    """The id of the account's newest committed entry.

    Each entry is written under its account's row lock, so one account's entries become visible
    in id order. Bounding every query by this id gives the opening balance, the totals and the
    entries the same view of the ledger, even while money moves during the statement.
    """
    newest = Entry.objects.filter(account=account).order_by("-id").values_list("id", flat=True)
    return newest.first() or 0


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


def _csv_cell(value) -> str:
    """Text that a spreadsheet would run as a formula is prefixed with ' (OWASP CSV injection);
    signed amounts such as -30.00 are numbers and stay as they are."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return text.strip() == text


class _Echo:
    """A file-like object whose write() returns what it was given, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value
