"""The one function that writes the audit trail, and the keyed hash that chains its events.

Every event's hash is an HMAC-SHA256, under `AUDIT_CHAIN_KEY`, of a canonical JSON encoding of
its fields and the previous event's hash. Whoever can write to the database but does not hold
the key cannot re-hash an edited chain so that it verifies. Appends lock the chain head row, so
concurrent writers queue rather than fork the chain, and run in the caller's transaction: an
event commits or rolls back with what it records.
"""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from .context import USER_AGENT_MAX_LENGTH, current_context, current_request_id_or_blank
from .models import AuditChain, AuditEvent

GENESIS_HASH = "0" * 64
REDACTED = "[redacted]"
# Keys whose values are secrets: never stored, whoever passes them.
_SECRET_KEY = re.compile(
    r"(^|_)(pass|password|passwd|pin|token|secret|access|refresh|otp|cvv)(_|$)", re.IGNORECASE
)
_CARD_KEY = re.compile(r"^(card|card_number|cardnumber|pan)$", re.IGNORECASE)


def mask_card_number(number: str) -> str:
    """Only the last four digits of a card number are ever shown or stored: '•••• 7899'."""
    digits = "".join(ch for ch in str(number) if ch.isdigit())
    return f"•••• {digits[-4:]}"


def record_event(
    *,
    action: str,
    actor=None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict | None = None,
) -> AuditEvent:
    """Append one event to the audit chain, in the caller's transaction.

    Call it inside the `transaction.atomic` of what it records, as late as possible (the chain
    head stays locked until that transaction ends) and after every other lock the transaction
    takes, so lock order is always "business rows, then the chain head". Outside a transaction
    it opens its own. Costs three queries: lock the head, insert the event, move the head.
    `target` names the object (its model label and primary key); `object_type`/`object_id` do so
    for something that is not a model instance. Secrets in `data` are redacted, card numbers
    masked.
    """
    if target is not None:
        object_type = target._meta.label_lower
        object_id = target.pk
    context = current_context()
    event = AuditEvent(
        actor_id=getattr(actor, "pk", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=context.ip,
        user_agent=context.user_agent[:USER_AGENT_MAX_LENGTH],
        request_id=current_request_id_or_blank(),
        data=_storable(data or {}),
    )
    if connection.in_atomic_block:
        return _append(event)
    with transaction.atomic():
        return _append(event)


def compute_hash(event: AuditEvent) -> str:
    """HMAC-SHA256 of the event's canonical encoding: what verify_audit_chain recomputes."""
    canonical = json.dumps(
        {
            # The bank chain's position; ids were positions before chains had seqs.
            "id": event.seq,
            "actor_id": event.actor_id,
            "action": event.action,
            "object_type": event.object_type,
            "object_id": event.object_id,
            "ip": event.ip,
            "user_agent": event.user_agent,
            "request_id": event.request_id,
            "data": event.data,
            "created_at": _canonical_time(event.created_at),
            "prev_hash": event.prev_hash,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    )
    key = settings.AUDIT_CHAIN_KEY.encode()
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()


def _append(event: AuditEvent) -> AuditEvent:
    chain = _locked_chain(event.chain)
    event.seq = chain.last_seq + 1
    event.prev_hash = chain.last_hash
    # Taken under the lock, so times never run backwards along a chain.
    event.created_at = timezone.now()
    event.hash = compute_hash(event)
    event.save(force_insert=True)
    AuditChain.objects.filter(pk=chain.pk).update(last_seq=event.seq, last_hash=event.hash)
    return event


def _locked_chain(name: str) -> AuditChain:
    """The chain's row, locked until the caller's transaction ends; created on first use."""
    chain = AuditChain.objects.select_for_update().filter(pk=name).first()
    if chain is not None:
        return chain
    # A new chain (or a flushed test database): its row starts from the chain's last event.
    # INSERT ... ON CONFLICT DO NOTHING: a concurrent first writer's row wins, and the lock
    # below then makes us wait for its transaction.
    last = AuditEvent.objects.filter(chain=name).order_by("-seq").values("seq", "hash").first()
    AuditChain.objects.bulk_create(
        [
            AuditChain(
                name=name,
                last_seq=last["seq"] if last else 0,
                last_hash=last["hash"] if last else GENESIS_HASH,
            )
        ],
        ignore_conflicts=True,
    )
    return AuditChain.objects.select_for_update().get(pk=name)


def _storable(data: dict) -> dict:
    """JSON-safe, secrets redacted, card numbers masked: exactly what is stored and hashed.

    The JSON round trip turns Decimals, dates and UUIDs into strings now, so the value read back
    from the database hashes the same as the value hashed here.
    """
    return json.loads(json.dumps(_scrub(data), default=str))


def _scrub(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {str(k): _scrub(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(item, key) for item in value]
    if _SECRET_KEY.search(key):
        return REDACTED
    if _CARD_KEY.search(key) and value:
        return mask_card_number(value)
    if isinstance(value, float):
        # Floats do not survive a database round trip byte for byte; money is never a float.
        return str(value)
    return value


def _canonical_time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
