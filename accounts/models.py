from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

# The bank's cash of each currency is split over this many internal sub-accounts; a customer
# account posts its cash legs against sub-account `pk % CASH_SUBACCOUNTS`, so deposits and
# withdrawals on different accounts do not all queue for one cash row's lock. A constant, not a
# setting: the sub-accounts must exist in the database (migration accounts 0005 creates them,
# `accounts.services.ensure_cash_subaccounts` for a new currency), and the ledger's SQL function
# receives this number from Python on every call.
CASH_SUBACCOUNTS = 16


def default_daily_withdrawal_limit() -> Decimal:
    return settings.DEFAULT_DAILY_WITHDRAWAL_LIMIT


class Account(models.Model):
    class Kind(models.TextChoices):
        CHECKING = "checking", "Checking"
        SAVINGS = "savings", "Savings"
        # One of the bank's cash sub-accounts of a currency: the other leg of the deposits and
        # withdrawals of the customer accounts of its shard. It has no owner and, being the
        # bank's side, may go negative; the bank's cash position is the sum over the shards.
        INTERNAL = "internal", "Internal (bank cash)"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        FROZEN = "frozen", "Frozen"
        CLOSED = "closed", "Closed"

    number = models.CharField(max_length=20, unique=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="accounts",
        null=True,
        blank=True,
    )
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.CHECKING)
    currency = models.CharField(max_length=3, default="USD")
    # Changed only by transactions.services, under this row's lock.
    balance = models.DecimalField(max_digits=18, decimal_places=2, default=Decimal("0.00"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    daily_withdrawal_limit = models.DecimalField(
        max_digits=18, decimal_places=2, default=default_daily_withdrawal_limit
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    # Internal (bank cash) accounts only: which of the currency's cash sub-accounts this is.
    cash_shard = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(kind="internal"),
                name="account_customer_balance_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind="internal", owner__isnull=True)
                | (~Q(kind="internal") & Q(owner__isnull=False)),
                name="account_owner_iff_customer",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["active", "frozen", "closed"]),
                name="account_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(daily_withdrawal_limit__gte=0), name="account_daily_limit_not_negative"
            ),
            models.UniqueConstraint(
                fields=["currency", "cash_shard"],
                condition=Q(kind="internal"),
                name="account_one_cash_subaccount_per_shard",
            ),
            models.CheckConstraint(
                condition=Q(kind="internal", cash_shard__isnull=False)
                | (~Q(kind="internal") & Q(cash_shard__isnull=True)),
                name="account_cash_shard_iff_internal",
            ),
            models.CheckConstraint(
                condition=Q(cash_shard__isnull=True)
                | Q(cash_shard__gte=0, cash_shard__lt=CASH_SUBACCOUNTS),
                name="account_cash_shard_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} ({self.get_kind_display()}, {self.currency})"

    @property
    def is_internal(self) -> bool:
        return self.kind == self.Kind.INTERNAL

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def available_balance(self) -> Decimal:
        """The balance less what pending, unexpired holds reserve. `held_amount` is annotated
        in the query that loads the account for display (transactions.selectors.with_held_amount:
        holds belong to the ledger); an account loaded without it fails loudly here rather than
        show money that is reserved as available."""
        return self.balance - self.held_amount


class Card(models.Model):
    """A debit card on one account: the ATM's credential, with its PIN kept only as a hash."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        BLOCKED = "blocked", "Blocked"

    number = models.CharField(max_length=16, unique=True)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="cards")
    # Django's password hashers (Argon2 in production); the PIN itself is never stored.
    pin_hash = models.CharField(max_length=128)
    # Consecutive wrong PINs; changed only under this row's lock (accounts.cards).
    failed_attempts = models.PositiveSmallIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    expires_on = models.DateField()
    issued_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["active", "blocked"]), name="card_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"Card {self.masked_number}"

    @property
    def masked_number(self) -> str:
        """How a card is shown everywhere except the issuance response: `•••• 7899`."""
        return f"•••• {self.number[-4:]}"

    @property
    def is_blocked(self) -> bool:
        return self.status == self.Status.BLOCKED
