"""Reads of accounts, always scoped to who is asking."""

from django.db.models import QuerySet

from .models import Account


def accounts_of(user) -> QuerySet[Account]:
    """The customer accounts a user owns; anyone else's are invisible, as if they did not exist."""
    return Account.objects.filter(owner=user).exclude(kind=Account.Kind.INTERNAL)
