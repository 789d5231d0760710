import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.models import Account


class LedgerImmutableError(Exception):
    """Raised on any attempt to change or delete a posted transaction or entry.

    The ledger is append-only (README "Immutability"): a mistake is corrected by a reversal. These
    guards catch it in Django; on PostgreSQL triggers also refuse it (migration 0003).
    """


def _refuse(what: str):
    raise LedgerImmutableError(
        f"{what} are never updated or deleted; post a reversal to correct a mistake."
    )


class EntryQuerySet(models.QuerySet):
    """Entries are written once, by bulk_create in transactions.services, and never changed.

    (bulk_update() goes through update(), so it is refused too.)
    """

    def update(self, **kwargs):
        _refuse("Ledger entries")

    def delete(self):
        _refuse("Ledger entries")


class TransactionQuerySet(models.QuerySet):
    """Transactions are never changed, except that a posted one is marked reversed, once."""

    def update(self, **kwargs):
        _refuse("Transactions")

    def delete(self):
        _refuse("Transactions")

    def mark_reversed(self, pk) -> int:
        """The one permitted change: status posted -> reversed. Returns the rows changed (0/1)."""
        rows = self.filter(pk=pk, status=Transaction.Status.POSTED)
        return super(TransactionQuerySet, rows).update(status=Transaction.Status.REVERSED)


class AppendOnlyModel(models.Model):
    """A row that is inserted once and then never saved again nor deleted."""

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            _refuse(self._meta.verbose_name_plural.capitalize())
        # An explicit pk would otherwise make Django try an UPDATE of that row first.
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        _refuse(self._meta.verbose_name_plural.capitalize())


class Hold(models.Model):
    """Money reserved on an account for a cash withdrawal not yet paid out (two-phase withdrawal).

    A pending hold counts against the available balance and the daily limit until it is captured
    (one withdrawal posted, linked by `Transaction.hold`), voided, or `expires_at` passes. Expiry
    is decided by `expires_at` at the moment of every check; status `expired` is only the
    record that `manage.py expire_holds` writes afterwards. Changed only by transactions.services.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        CAPTURED = "captured", "Captured"
        VOIDED = "voided", "Voided"
        EXPIRED = "expired", "Expired"

    class VoidReason(models.TextChoices):
        CUSTOMER_CANCELLED = "customer_cancelled", "Customer cancelled"
        DISPENSE_FAILED = "dispense_failed", "Dispense failed"
        TIMEOUT = "timeout", "Timeout"
        OTHER = "other", "Other"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    captured_amount = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    description = models.CharField(max_length=255, blank=True, default="")
    void_reason = models.CharField(
        max_length=20, choices=VoidReason.choices, blank=True, default=""
    )
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    # When it was captured or voided, or when its expiry was recorded.
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="hold_account_created"),
            # What the available balance and the daily limit sum: only pending holds are in it,
            # so its size is the pending holds of the bank, never the history.
            models.Index(
                fields=["account", "expires_at"],
                condition=Q(status="pending"),
                name="hold_pending_by_account",
            ),
            # What expire_holds looks for.
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="hold_pending_expiry"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "captured", "voided", "expired"]),
                name="hold_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(status="captured", captured_amount__gt=0)
                | (~Q(status="captured") & Q(captured_amount__isnull=True)),
                name="hold_captured_amount_iff_captured",
            ),
            models.CheckConstraint(
                condition=Q(captured_amount__isnull=True)
                | Q(captured_amount__lte=models.F("amount")),
                name="hold_capture_within_amount",
            ),
            models.CheckConstraint(
                condition=(Q(status="voided") & ~Q(void_reason=""))
                | (~Q(status="voided") & Q(void_reason="")),
                name="hold_void_reason_iff_voided",
            ),
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("created_at")),
                name="hold_expires_after_creation",
            ),
        ]

    def __str__(self) -> str:
        return f"Hold {self.amount} {self.currency} ({self.id})"

    def status_at(self, moment) -> str:
        """The hold's status as of `moment`: a pending hold past `expires_at` has expired, whether
        or not `expire_holds` has recorded it yet."""
        if self.status == self.Status.PENDING and self.expires_at <= moment:
            return self.Status.EXPIRED
        return self.status


class Transaction(AppendOnlyModel):
    """One movement of money: a set of entries (legs) that sum to zero."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", "Deposit"
        WITHDRAWAL = "withdrawal", "Withdrawal"
        TRANSFER = "transfer", "Transfer"
        REVERSAL = "reversal", "Reversal"

    class Status(models.TextChoices):
        POSTED = "posted", "Posted"
        REVERSED = "reversed", "Reversed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.POSTED)
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    currency = models.CharField(max_length=3)
    description = models.CharField(max_length=255, blank=True, default="")
    # The customer account the request acted on (the source of a transfer) and, for transfers,
    # the target. Both are also legs in `entries`; these keep reads of one transaction cheap.
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    counterparty = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # One-to-one: the database itself refuses a second reversal of the same transaction.
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, related_name="reversal", null=True, blank=True
    )
    initiated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    # The hold a withdrawal captured. One-to-one: the database refuses a second capture.
    hold = models.OneToOneField(
        Hold, on_delete=models.PROTECT, related_name="withdrawal", null=True, blank=True
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = TransactionQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["account", "-created_at"], name="txn_account_created"),
            models.Index(fields=["counterparty", "-created_at"], name="txn_counterparty_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transaction_amount_positive"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False)
                | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="transaction_reversal_has_original",
            ),
            models.CheckConstraint(
                condition=Q(hold__isnull=True) | Q(kind="withdrawal"),
                name="transaction_hold_only_on_withdrawal",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount} {self.currency} ({self.id})"


class Entry(AppendOnlyModel):
    """One leg of a transaction on one account: signed amount and the balance right after."""

    transaction = models.ForeignKey(Transaction, on_delete=models.PROTECT, related_name="entries")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="entries")
    amount = models.DecimalField(max_digits=18, decimal_places=2)
    balance_after = models.DecimalField(max_digits=18, decimal_places=2)
    # Copied from the transaction (both immutable) so an account's history is filtered and
    # paginated from one index, without a join.
    kind = models.CharField(max_length=10, choices=Transaction.Kind.choices)
    created_at = models.DateTimeField()
    counterparty_number = models.CharField(max_length=20, blank=True, default="")

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "entries"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["account", "-id"], name="entry_account_newest"),
            models.Index(fields=["account", "kind", "created_at"], name="entry_account_kind_time"),
            models.Index(fields=["account", "created_at"], name="entry_account_time"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_not_zero"),
        ]

    def __str__(self) -> str:
        return f"{self.account.number} {self.amount} ({self.kind})"


class IdempotencyKey(models.Model):
    """A client's Idempotency-Key, scoped to the user, and the first answer given under it."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        COMPLETED = "completed", "Completed"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_keys"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.JSONField(null=True, blank=True)
    transaction = models.ForeignKey(
        Transaction,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="idempotency_keys",
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    locked_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self) -> str:
        return f"{self.key} ({self.status})"
