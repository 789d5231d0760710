"""Reads of accounts, always scoped to who is asking."""

from decimal import Decimal

from django.db.models import QuerySet, Sum

from .models import Account


def accounts_of(user) -> QuerySet[Account]:
    """The customer accounts a user owns; anyone else's are invisible, as if they did not exist."""
    return Account.objects.filter(owner=user).exclude(kind=Account.Kind.INTERNAL)


def cash_positions() -> dict[str, Decimal]:
    """The bank's cash position per currency: the sum of its cash sub-accounts' balances (staff
    only: customers never see internal accounts)."""
    totals = (
        Account.objects.filter(kind=Account.Kind.INTERNAL)
        .order_by("currency")
        .values("currency")
        .annotate(total=Sum("balance"))
    )
    return {row["currency"]: row["total"] for row in totals}
