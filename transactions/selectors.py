"""Reads of the ledger: histories, transaction and hold lists, and what holds reserve, each
filtered from its indexes."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import connection
from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account
from atm_project.authentication import user_claims
from atm_project.problems import UserNoLongerValid

from .models import Entry, Hold, Transaction

CENT = Decimal("0.01")
_NOTHING_HELD = Value(Decimal("0.00"), output_field=DecimalField(max_digits=18, decimal_places=2))


def _pending_holds(at: datetime) -> QuerySet[Hold]:
    """Holds reserving money at the moment `at`: pending and not yet expired. Served by the
    partial index `hold_pending_by_account`, which holds pending holds only: the cost follows
    the account's pending holds, never its history."""
    return Hold.objects.filter(status=Hold.Status.PENDING, expires_at__gt=at)


def pending_holds_of(account: Account) -> QuerySet[Hold]:
    """The account's holds reserving money now, soonest to expire first."""
    return _pending_holds(timezone.now()).filter(account=account).order_by("expires_at")


def held_amount(account: Account, *, at: datetime) -> Decimal:
    """What the account's pending, unexpired holds reserve at the moment `at`."""
    total = _pending_holds(at).filter(account=account).aggregate(total=Sum("amount"))["total"]
    # Quantized: SQLite sums decimals as floats.
    return (total or Decimal("0")).quantize(CENT)


def with_held_amount(accounts: QuerySet[Account]) -> QuerySet[Account]:
    """The accounts with `held_amount` annotated (in the same query), which their
    `available_balance` needs."""
    held = (
        _pending_holds(timezone.now())
        .filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return accounts.annotate(held_amount=Coalesce(Subquery(held), _NOTHING_HELD))


def holds_visible_to(*, account_ids: set[int], filters: dict) -> QuerySet[Hold]:
    """Holds on these accounts. The status filter reads expiry from `expires_at` now, like every
    check: a pending hold past it is listed as expired, whether or not it was recorded yet."""
    holds = Hold.objects.filter(account_id__in=account_ids).select_related("account", "withdrawal")
    if "account" in filters:
        holds = holds.filter(account__number=filters["account"])
    if "status" in filters:
        holds = holds.filter(status_as_of(filters["status"], timezone.now()))
    return holds


def status_as_of(status: str, now: datetime) -> Q:
    """Holds whose status, as of `now`, is `status` (expiry read from `expires_at`)."""
    if status == Hold.Status.PENDING:
        return Q(status=status, expires_at__gt=now)
    if status == Hold.Status.EXPIRED:
        return Q(status=status) | Q(status=Hold.Status.PENDING, expires_at__lte=now)
    return Q(status=status)


def _apply_time_and_kind(queryset: QuerySet, filters: dict) -> QuerySet:
    if "kind" in filters:
        queryset = queryset.filter(kind=filters["kind"])
    if "created_after" in filters:
        queryset = queryset.filter(created_at__gte=filters["created_after"])
    if "created_before" in filters:
        queryset = queryset.filter(created_at__lt=filters["created_before"])
    return queryset


def account_history(*, account: Account, filters: dict) -> QuerySet[Entry]:
    """An account's entries, newest first (the paginator orders by the indexed id)."""
    entries = Entry.objects.filter(account=account).select_related("transaction")
    return _apply_time_and_kind(entries, filters)


def transactions_visible_to(*, account_ids: set[int], filters: dict) -> QuerySet[Transaction]:
    """Transactions that touch any of these accounts, as source or as target."""
    if "account" in filters:
        account_ids = set(
            Account.objects.filter(pk__in=account_ids, number=filters["account"]).values_list(
                "pk", flat=True
            )
        )
    transactions = Transaction.objects.filter(
        Q(account_id__in=account_ids) | Q(counterparty_id__in=account_ids)
    ).select_related("account", "counterparty")
    return _apply_time_and_kind(transactions, filters).prefetch_related("entries")


def as_first_answered(transaction_id) -> Transaction:
    """A posted transaction with its accounts and legs, as it was when its movement was answered:
    every field but the status is immutable, and the status was then "posted"."""
    posted = Transaction.objects.select_related("account", "counterparty").get(pk=transaction_id)
    posted.legs = list(posted.entries.order_by("pk"))
    posted.status = Transaction.Status.POSTED
    return posted


@dataclass(frozen=True)
class Balance:
    number: str
    balance: Decimal
    held_amount: Decimal
    currency: str
    as_of: datetime

    @property
    def available_balance(self) -> Decimal:
        return self.balance - self.held_amount


# The hottest read, in one statement and without the ORM (whose query building and compiling
# cost more CPU than the read itself: docs/performance.md "Request path"). The same rules as
# accounts_of + with_held_amount: the viewer's own customer account, less its pending holds.
_BALANCE = """
SELECT account.number, CAST(account.balance AS TEXT) AS balance, account.currency,
       CAST((SELECT coalesce(sum(hold.amount), 0) FROM transactions_hold hold
              WHERE hold.account_id = account.id AND hold.status = 'pending'
                AND hold.expires_at > %(now)s) AS TEXT) AS held
  FROM accounts_account account
 WHERE account.number = %(number)s AND account.owner_id = %(viewer)s
   AND account.kind <> 'internal'
"""
# With a token-carried user (atm_project/authentication.py), the statement checks that user too.
_BALANCE_CHECKING_THE_VIEWER = f"""
SELECT account.number, account.balance, account.currency, account.held,
       ledger_user_is_valid(%(viewer)s, %(claim)s) AS viewer_valid
  FROM (SELECT 1) one LEFT JOIN ({_BALANCE}) account ON true
"""  # noqa: S608 (composed of constants only)


def balance_of(*, number: str, viewer) -> Balance | None:
    """The balance of the viewer's account `number` now, or None if the viewer has no such
    account; one statement. A token-carried viewer no longer valid raises UserNoLongerValid."""
    viewer_id, claim = user_claims(viewer)
    now = timezone.now()
    params = {"number": number, "viewer": viewer_id, "claim": claim, "now": now}
    with connection.cursor() as cursor:
        cursor.execute(_BALANCE if claim is None else _BALANCE_CHECKING_THE_VIEWER, params)
        row = cursor.fetchone()
    if claim is not None:
        *row, viewer_valid = row
        if not viewer_valid:
            raise UserNoLongerValid()
    if row is None or row[0] is None:  # no row; or, checking the viewer, no account joined
        return None
    number, balance, currency, held = row
    # Read as text, as the ORM's converters would: SQLite keeps decimals as floats.
    return Balance(number, _money(balance), _money(held), currency, as_of=now)


def _money(text: str) -> Decimal:
    return Decimal(text).quantize(CENT)
