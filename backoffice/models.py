"""Four-eyes requests: a change that one staff member asks for and a different supervisor
decides. Only approval executes it (backoffice.approvals), in the approval's transaction."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class ApprovalRequest(models.Model):
    class Kind(models.TextChoices):
        REVERSAL = "reversal", "Reverse a transaction"
        UNFREEZE = "unfreeze", "Unfreeze an account"
        CARD_UNBLOCK = "card_unblock", "Unblock a card"
        DAILY_LIMIT = "daily_limit", "Change the daily withdrawal limit"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        APPROVED = "approved", "Approved and done"
        REJECTED = "rejected", "Rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    # What the request is about, as text ("transaction:<uuid>", "account:<number>",
    # "card:<id>"): one pending request per kind and target, enforced by the database.
    target = models.CharField(max_length=64)
    # The account concerned, for every kind (a reversal's or a card's account too), so an
    # account's page lists its requests with one indexed lookup.
    account = models.ForeignKey(
        "accounts.Account", on_delete=models.PROTECT, related_name="approval_requests"
    )
    card = models.ForeignKey(
        "accounts.Card", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    transaction = models.ForeignKey(
        "transactions.Transaction",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    new_daily_limit = models.DecimalField(max_digits=18, decimal_places=2, null=True, blank=True)
    reason = models.CharField(max_length=255)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    # The rejection's reason, or what the approval did ("reversal <id>").
    outcome = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        ordering = ["-id"]
        default_permissions = ("view",)
        permissions = [
            ("file_request", "Can file four-eyes requests"),
            ("decide_request", "Can approve or reject four-eyes requests"),
        ]
        constraints = [
            # Defence in depth behind backoffice.approvals: nobody decides their own request.
            models.CheckConstraint(
                condition=~Q(decided_by=F("requested_by")), name="approval_not_by_requester"
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_by__isnull=True, decided_at__isnull=True)
                | (
                    Q(status__in=["approved", "rejected"])
                    & Q(decided_by__isnull=False, decided_at__isnull=False)
                ),
                name="approval_decided_iff_not_pending",
            ),
            models.UniqueConstraint(
                fields=["kind", "target"],
                condition=Q(status="pending"),
                name="approval_one_pending_per_target",
            ),
        ]
        indexes = [models.Index(fields=["account", "-requested_at"], name="approval_account")]

    def __str__(self) -> str:
        return f"Request #{self.pk}: {self.get_kind_display()} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
