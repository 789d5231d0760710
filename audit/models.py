"""The audit trail: append-only events, each hashed together with the previous event's hash.

Only `audit.services.record_event` writes events. The guards here make an accidental edit or
delete through the ORM fail loudly; on PostgreSQL a trigger (migration 0002) refuses UPDATE and
DELETE of events from any client, and `manage.py verify_audit_chain` detects what gets past both.
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
        # A bulk insert would bypass the chain head: every event goes through record_event.
        raise AuditLogIsAppendOnly("Audit events are appended one by one by record_event.")

    def update_or_create(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("Audit events are never updated.")

    def _raw_delete(self, using):
        raise AuditLogIsAppendOnly("Audit events are never deleted.")


class AuditEvent(models.Model):
    # The event's position in the chain, assigned under the chain head's lock (not by a
    # database sequence), so ids are gap-free and a deleted event leaves a visible hole.
    id = models.BigIntegerField(primary_key=True)
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

    def __str__(self) -> str:
        return f"#{self.id} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogIsAppendOnly("Audit events are never updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AuditLogIsAppendOnly("Audit events are never deleted.")


class AuditChainHead(models.Model):
    """One row: the last event's id and hash. Locking it serialises appends to the chain.

    It is rebuilt from the last event if missing (a flushed test database), so it is a lock and
    a cache, never the source of truth; verify_audit_chain compares it with the last event, which
    is how a deleted tail shows up.
    """

    SINGLETON_ID = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON_ID)
    last_event_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="audit_chain_head_singleton")
        ]

    def __str__(self) -> str:
        return f"audit chain head at #{self.last_event_id}"


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
