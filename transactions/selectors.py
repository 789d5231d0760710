"""Reads of the ledger: histories and transaction lists, filtered from their indexes."""

from django.db.models import Q, QuerySet

from accounts.models import Account

from .models import Entry, Transaction


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
