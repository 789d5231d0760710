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
