"""The rule every amount of money obeys, wherever it comes from: the API's AmountField checks it
on input and the ledger's services check it again, so no caller can post a zero, negative,
sub-cent or oversized movement."""

from decimal import Decimal

from django.conf import settings

from .problems import InvalidAmount

CENT = Decimal("0.01")


def amount_problem(amount: Decimal | int) -> str | None:
    """Why this amount cannot be moved, or None when it can (whole numbers are exact too)."""
    if isinstance(amount, int) and not isinstance(amount, bool):
        amount = Decimal(amount)
    if isinstance(amount, bool) or not isinstance(amount, Decimal) or not amount.is_finite():
        return "An amount is a finite decimal number."
    if amount <= 0:
        return "The amount must be greater than 0."
    if amount.as_tuple().exponent < -2:
        return "Use at most 2 decimal places."
    if amount > settings.MAX_TRANSACTION_AMOUNT:
        return f"The amount must be at most {settings.MAX_TRANSACTION_AMOUNT}."
    return None


def require_valid_amount(amount: Decimal | int) -> Decimal:
    """The amount in cents (two places), or InvalidAmount saying why it cannot be moved."""
    problem = amount_problem(amount)
    if problem is not None:
        raise InvalidAmount(problem)
    return Decimal(amount).quantize(CENT)
