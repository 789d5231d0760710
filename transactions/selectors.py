"""Reads of the ledger: histories, transaction and hold lists, and what holds reserve, each
filtered from its indexes."""

from datetime import datetime
from decimal import Decimal

from django.db.models import DecimalField, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Account

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
