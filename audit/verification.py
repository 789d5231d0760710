"""Recompute the audit chain and name the first event that does not fit."""

import hmac
from collections.abc import Callable
from dataclasses import dataclass

from .models import BANK_CHAIN, AuditChain, AuditEvent
from .services import GENESIS_HASH, compute_hash

_CHUNK = 2000


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    first_bad_event_id: int | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def verify_chain(*, on_progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk every event in chain order; stop at the first one whose hash or link is wrong.

    An edited event no longer matches its own hash; an event re-hashed after an edit, or one
    whose predecessor was deleted, no longer matches the previous event's hash; a deleted tail
    leaves the chain head pointing past the last event. `on_progress(events_checked)` is called
    every few thousand events.
    """
    previous_id, previous_hash, checked = 0, GENESIS_HASH, 0
    events = AuditEvent.objects.filter(chain=BANK_CHAIN).order_by("seq")
    for event in events.iterator(chunk_size=_CHUNK):
        checked += 1
        if on_progress is not None and checked % _CHUNK == 0:
            on_progress(checked)
        if event.prev_hash != previous_hash or event.seq != previous_id + 1:
            return ChainReport(
                checked,
                event.seq,
                f"event #{event.seq} ({event.action}) does not follow event #{previous_id}: "
                "an event was deleted or altered before it",
            )
        if compute_hash(event) != event.hash:
            return ChainReport(
                checked,
                event.seq,
                f"event #{event.seq} ({event.action}) was altered: its content no longer "
                "matches its hash",
            )
        previous_id, previous_hash = event.seq, event.hash
    return _check_head(checked, previous_id, previous_hash)


def _check_head(checked: int, last_id: int, last_hash: str) -> ChainReport:
    head = AuditChain.objects.filter(pk=BANK_CHAIN).first()
    if head is None or (head.last_seq, head.last_hash) == (last_id, last_hash):
        return ChainReport(checked)
    return ChainReport(
        checked,
        last_id + 1,
        f"the chain ends at event #{last_id} but its head records event "
        f"#{head.last_seq}: events after #{last_id} were deleted",
    )


@dataclass(frozen=True)
class ChainHead:
    event_id: int
    mac: str

    def __str__(self) -> str:
        return f"{self.event_id}:{self.mac}"

    @classmethod
    def parse(cls, text: str) -> "ChainHead":
        event_id, _, mac = text.partition(":")
        if not event_id.isdigit() or len(mac) != 64:
            raise ValueError(f"expected ID:MAC (a number, a colon, 64 hex digits), got {text!r}")
        return cls(int(event_id), mac.lower())


def newest_link() -> ChainHead | None:
    """The newest event's id and MAC, to keep outside the database (--head)."""
    last = AuditEvent.objects.filter(chain=BANK_CHAIN).order_by("-seq").values("seq", "hash")
    last = last.first()
    return ChainHead(last["seq"], last["hash"]) if last else None


def check_anchor(expected: ChainHead) -> str:
    """Why a link kept earlier is no longer on the chain, or "" when it still is.

    Verification alone cannot tell a trail cut back (or rewritten by someone with the key) from
    a genuine one; a link written down elsewhere can.
    """
    stored = (
        AuditEvent.objects.filter(chain=BANK_CHAIN, seq=expected.event_id)
        .values_list("hash", flat=True)
        .first()
    )
    if stored is None:
        return f"event #{expected.event_id} is missing: the trail was truncated"
    if not hmac.compare_digest(stored, expected.mac):
        return f"event #{expected.event_id} has another MAC: the trail was rewritten"
    return ""
