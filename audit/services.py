"""The one function that writes the audit trail, and the keyed hash that chains its events.

The trail is a set of chains: one per account (`account_chain(pk)`: the money and hold events
about that account) and the bank's own (`bank`: everything else, and the anchors that record
where the account chains stood). Every event's hash is an HMAC-SHA256, under `AUDIT_CHAIN_KEY`,
of an encoding of its fields and the previous hash of its chain. Whoever can write to the
database but does not hold the key cannot re-hash an edited chain so that it verifies. An append
locks its chain's row only, so concurrent writers on one chain queue rather than fork it, while
movements on different accounts never wait for each other; it runs in the caller's transaction:
an event commits or rolls back with what it records.
"""

import hashlib
import hmac
import json
import re
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from .context import current_origin
from .models import BANK_CHAIN, AuditChain, AuditEvent

GENESIS_HASH = "0" * 64
ANCHOR_ACTION = "audit.chains_anchored"
# Account chains recorded by one anchor event (an event of a few tens of kilobytes).
ANCHOR_BATCH = 1000
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


def account_chain(account_pk: int) -> str:
    """The name of an account's audit chain; both posting engines (this module and the ledger's
    SQL function) name it so."""
    return f"account:{account_pk}"


def record_event(
    *,
    action: str,
    actor=None,
    target: models.Model | None = None,
    object_type: str = "",
    object_id: str | int = "",
    data: dict | None = None,
    chain: str = BANK_CHAIN,
) -> AuditEvent:
    """Append one event to a chain of the audit trail (the bank's unless told), in the caller's
    transaction.

    Call it inside the `transaction.atomic` of what it records, as late as possible (the chain's
    row stays locked until that transaction ends) and after every other lock the transaction
    takes, so lock order is always "business rows, then chain rows"; a transaction that writes
    to several chains takes account chains before the bank chain. Outside a transaction it
    opens its own. Costs three queries: lock the chain's row, insert the event, move the row
    (two more the first time a chain is used: its row is created). `target` names the object
    (its model label and primary key); `object_type`/`object_id` do so for something that is
    not a model instance. Secrets in `data` are redacted, card numbers masked. An account
    chain's data holds scalars only (its MAC is plain text, see `account_chain_mac`).
    """
    if target is not None:
        object_type = target._meta.label_lower
        object_id = target.pk
    if chain != BANK_CHAIN:
        _require_scalars(data or {})
    origin = current_origin()
    event = AuditEvent(
        actor_id=getattr(actor, "pk", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        ip=origin.ip,
        user_agent=origin.user_agent,
        request_id=origin.request_id,
        data=_storable(data or {}),
        chain=chain,
    )
    if connection.in_atomic_block:
        return _append(event)
    with transaction.atomic():
        return _append(event)


def compute_hash(event: AuditEvent) -> str:
    """The event's MAC, as recorded and as verify_audit_chain recomputes it: the canonical JSON
    of the bank chain (unchanged since before chains existed), or the account chains' text."""
    if event.chain == BANK_CHAIN:
        return bank_chain_mac(event)
    return account_chain_mac(event)


def bank_chain_mac(event: AuditEvent) -> str:
    """HMAC-SHA256 of the event's canonical JSON encoding."""
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
    return _mac(canonical.encode("ascii"))


# The account chains' MAC covers plain text that PL/pgSQL can build byte for byte (the ledger's
# SQL function appends to these chains too); the exact format is in docs/design.md "Audit chains".
# Every field is length-prefixed in UTF-8 bytes, so no value can forge a separator; "-" is NULL.
ACCOUNT_CHAIN_MAC_VERSION = "account-chain-v1"


def account_chain_mac(event: AuditEvent) -> str:
    """HMAC-SHA256 of `account_chain_message(event)` in UTF-8."""
    return _mac(account_chain_message(event).encode("utf-8"))


def account_chain_message(event: AuditEvent) -> str:
    fields = [
        event.chain,
        str(event.seq),
        event.prev_hash,
        _canonical_time(event.created_at),
        event.action,
        None if event.actor_id is None else str(event.actor_id),
        event.object_type,
        event.object_id,
        None if event.ip is None else str(event.ip),
        event.user_agent,
        event.request_id,
        _data_text(event.data),
    ]
    return ",".join([ACCOUNT_CHAIN_MAC_VERSION, *(_field(value) for value in fields)])


def _field(value: str | None) -> str:
    return "-" if value is None else f"{len(value.encode('utf-8'))}:{value}"


def _data_text(data: dict) -> str:
    # Keys in code point order, which is UTF-8 byte order: PostgreSQL's COLLATE "C".
    return ",".join(
        f"{_field(key)}={_field(_scalar(key, value))}" for key, value in sorted(data.items())
    )


def _require_scalars(data: dict) -> None:
    """Checked before storing (which would turn a float into text): an account chain's data is
    flat, and holds no float (money is a Decimal, stored as text)."""
    for key, value in data.items():
        if isinstance(value, dict | list | tuple | float):
            raise ValueError(_NOT_SCALAR.format(key=key, kind=type(value).__name__))


_NOT_SCALAR = (
    "audit data {key!r} of an account chain event must be a string, an integer, a boolean or "
    "null (a Decimal, UUID or datetime is stored as its text), not {kind}"
)


def _scalar(key: str, value) -> str | None:
    """A data value as PostgreSQL's jsonb_each_text spells it; only scalars have one spelling
    that both sides agree on."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    raise ValueError(_NOT_SCALAR.format(key=key, kind=type(value).__name__))


def _mac(message: bytes) -> str:
    key = settings.AUDIT_CHAIN_KEY.encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


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


def anchor_chains(*, batch_size: int = ANCHOR_BATCH) -> int:
    """Record on the bank chain where each account chain ends that moved since it was last
    anchored; return how many chains were recorded.

    Each batch of chains is one `audit.chains_anchored` event, data {"chains": {name: "seq:hash"}},
    in a transaction of its own; the chains' rows are read without a lock (what they show is
    committed), then `anchored_seq` moves up to the recorded seq. A chain cut back together with
    its row after this no longer holds the anchored event, which verify_audit_chain reports; the
    bank chain itself is covered by --head/--expect-head. Chains are taken in name order, each
    at most once per run, so a busy trail cannot keep a run going; a chain whose row a movement
    holds locked right now is left for the next run.
    """
    anchored, after = 0, ""
    while True:
        behind = list(
            AuditChain.objects.exclude(name=BANK_CHAIN)
            .filter(last_seq__gt=F("anchored_seq"), name__gt=after)
            .order_by("name")
            .values_list("name", "last_seq", "last_hash")[:batch_size]
        )
        if behind:
            anchored += _record_anchor(behind)
            after = behind[-1][0]
        if len(behind) < batch_size:
            return anchored


def _record_anchor(heads: list[tuple[str, int, str]]) -> int:
    """Anchor these (name, seq, hash) links; returns how many were (the others were busy)."""
    with transaction.atomic():
        # SKIP LOCKED: an anchor never waits for a movement (so it cannot deadlock with one)
        # and holds the rows it takes only for its own short transaction, account chains
        # before the bank chain like every transaction that writes to several chains.
        rows = AuditChain.objects.select_for_update(skip_locked=True).filter(
            name__in=[name for name, _, _ in heads]
        )
        free = set(rows.values_list("name", flat=True))
        heads = [head for head in heads if head[0] in free]
        if not heads:
            return 0
        record_event(
            action=ANCHOR_ACTION,
            data={"chains": {name: f"{seq}:{last_hash}" for name, seq, last_hash in heads}},
        )
        recorded = Case(
            *(When(name=name, then=Value(seq)) for name, seq, _ in heads),
            output_field=AuditChain._meta.get_field("anchored_seq"),
        )
        # Never backwards: a concurrent run may have recorded a later position already.
        AuditChain.objects.filter(name__in=free).update(
            anchored_seq=Greatest("anchored_seq", recorded)
        )
        return len(heads)


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
