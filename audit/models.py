"""The audit trail: append-only events in hash chains, each event hashed together with the
previous event of its chain.

There is one chain per account (`account:<pk>`: its money and hold events) and the bank's own
chain (`bank`: everything else, and the anchors that record the account chains' heads), so
movements on different accounts never queue behind one another's audit lock.
Only `audit.services.record_event` writes events. The guards here make an accidental edit or
delete through the ORM fail loudly; on PostgreSQL triggers (migrations 0002 and 0004) refuse
UPDATE and DELETE of events from any client, and `manage.py verify_audit_chain` detects what
gets past both.
"""

from django.conf import settings
from django.db import models


class AuditLogIsAppendOnly(Exception):
    """Raised on any attempt to change or remove an audit event through the ORM."""


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AuditLogIsAppendOnly("Audit events are never updated.")

    def delete(self):
        raise AuditLogIsAppendOnly("Audit events are never deleted.")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditLogIsAppendOnly("Audit events are never updated.")

    def bulk_create(self, objs, *args, **kwargs):
        # A bulk insert would bypass the chains' rows: every event goes through record_event.
        raise AuditLogIsAppendOnly("Audit events are appended one by one by record_event.")

    def update_or_create(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("Audit events are never updated.")

    def _raw_delete(self, using):
        raise AuditLogIsAppendOnly("Audit events are never deleted.")


BANK_CHAIN = "bank"


class AuditEvent(models.Model):
    # A plain insertion id (its order is roughly time order, nothing more): an event's place in
    # the trail is (chain, seq).
    id = models.BigAutoField(primary_key=True)
    chain = models.CharField(max_length=40, default=BANK_CHAIN)
    # The event's position in its chain, 1-based, assigned under the chain row's lock (not by a
    # database sequence), so positions are gap-free and a deleted event leaves a visible hole.
    seq = models.BigIntegerField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(max_length=64, db_index=True)
    object_type = models.CharField(max_length=64, blank=True, default="")
    object_id = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=255, blank=True, default="")
    request_id = models.CharField(max_length=128, blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(db_index=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object")]
        constraints = [
            # Also the index verification walks a chain by.
            models.UniqueConstraint(fields=["chain", "seq"], name="audit_event_chain_seq")
        ]

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("Audit events are never deleted.")


class AuditChain(models.Model):
    """One row per chain: its last event's seq and hash. Locking the row serialises appends to
    that chain, and to that chain only.

    A missing row is rebuilt from the chain's last event (a flushed test database), so it is a
    lock and a cache, never the source of truth; verify_audit_chain compares it with the chain's
    last event, which is how a deleted tail shows up. `anchored_seq` is how far the last anchor
    (an `audit.chains_anchored` event on the bank chain) recorded this chain; an anchor is what
    catches a tail cut back together with this row.
    """

    name = models.CharField(max_length=40, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)
    anchored_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"audit chain {self.name} at #{self.last_seq}"


class StaffPermission(models.Model):
    """No table: the home of the custom permissions behind the staff admin actions."""

    class Meta:
        managed = False
        default_permissions = ()
        # Freezing is immediate; unfreezing, unblocking and reversing are four-eyes requests
        # (backoffice.file_request / decide_request).
        permissions = [("freeze_account", "Can freeze accounts")]

    def __str__(self) -> str:
        return "staff permission"
