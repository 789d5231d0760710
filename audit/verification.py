"""Recompute every audit chain and name the first event that does not fit.

The bank chain is walked first, then the account chains one after another (in the order of the
(chain, seq) index). Events are streamed in chunks, and what must be compared with other rows
(each chain's last event with its AuditChain row, each anchored "seq:hash" with the stored
event) is checked a batch at a time, so memory stays flat however long the trail.
"""

import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.db.models import Exists, OuterRef, Q

from .models import BANK_CHAIN, AuditChain, AuditEvent
from .services import ANCHOR_ACTION, GENESIS_HASH, compute_hash

_CHUNK = 2000
# Chains whose ends are compared with their rows in one query.
_BATCH = 500
# Anchored events looked up in one query (an OR of (chain, seq) pairs: SQLite parses each OR as
# one level of its expression tree, at most 1000 deep).
_CLAIMS_BATCH = 200


@dataclass(frozen=True)
class Position:
    """Where an event is (or should be) in the trail."""

    chain: str
    seq: int

    def __str__(self) -> str:
        return f"{self.chain} #{self.seq}"


@dataclass(frozen=True)
class ChainReport:
    events_checked: int
    chains_checked: int = 0
    first_bad: Position | None = None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


class _Broken(Exception):
    def __init__(self, position: Position, problem: str):
        super().__init__(problem)
        self.position, self.problem = position, problem


@dataclass(frozen=True)
class _Link:
    """The last event seen of a chain (seq 0 and the genesis hash before its first)."""

    chain: str
    seq: int = 0
    hash: str = GENESIS_HASH


def verify_chain(*, on_progress: Callable[[int], None] | None = None) -> ChainReport:
    """Walk every chain in order; stop at the first event whose position, link or MAC is wrong.

    An edited event no longer matches its MAC; an event re-hashed after an edit, deleted,
    inserted, moved to another chain or swapped with another breaks its seq or the link to the
    previous event of its chain; a deleted tail leaves the chain's row pointing past its last
    event; a tail cut back together with the row (or rewritten with the key) no longer holds the
    events an anchor on the bank chain recorded. `on_progress(events_checked)` is called every
    few thousand events.
    """
    walk = _Walk(on_progress)
    try:
        walk.bank_chain()
        walk.account_chains()
        walk.rows_without_events()
    except _Broken as broken:
        return ChainReport(walk.checked, walk.chains, broken.position, broken.problem)
    return ChainReport(walk.checked, walk.chains)


class _Walk:
    def __init__(self, on_progress: Callable[[int], None] | None):
        self.on_progress = on_progress
        self.checked = 0
        self.chains = 0
        self.ends = _ChainEnds()
        self.anchored = _AnchoredEvents()

    def bank_chain(self) -> None:
        last = _Link(BANK_CHAIN)
        for event in self._events(AuditEvent.objects.filter(chain=BANK_CHAIN).order_by("seq")):
            last = _follow(last, event)
            if event.action == ANCHOR_ACTION:
                self.anchored.add(event)
        self._ended(last)
        self.ends.check()
        self.anchored.check()

    def account_chains(self) -> None:
        accounts = AuditEvent.objects.exclude(chain=BANK_CHAIN).order_by("chain", "seq")
        last = None
        for event in self._events(accounts):
            if last is None or event.chain != last.chain:
                if last is not None:
                    self._ended(last)
                last = _Link(event.chain)
            last = _follow(last, event)
        if last is not None:
            self._ended(last)
        self.ends.check()

    def rows_without_events(self) -> None:
        """A chain whose every event was deleted leaves only its row behind."""
        emptied = (
            AuditChain.objects.filter(last_seq__gt=0)
            .exclude(Exists(AuditEvent.objects.filter(chain=OuterRef("name"))))
            .order_by("name")
            .first()
        )
        if emptied is not None:
            raise _Broken(
                Position(emptied.name, 1),
                f"chain {emptied.name} has no events but its row records "
                f"#{emptied.last_seq}: every event of it was deleted",
            )

    def _events(self, queryset) -> Iterator[AuditEvent]:
        for event in queryset.iterator(chunk_size=_CHUNK):
            self.checked += 1
            if self.on_progress is not None and self.checked % _CHUNK == 0:
                self.on_progress(self.checked)
            yield event

    def _ended(self, last: _Link) -> None:
        if last.seq:  # the bank chain may have no events yet
            self.chains += 1
        self.ends.add(last)


def _follow(previous: _Link, event: AuditEvent) -> _Link:
    """The event as the next link after `previous`, or _Broken naming it."""
    here = Position(event.chain, event.seq)
    if event.seq != previous.seq + 1 or event.prev_hash != previous.hash:
        raise _Broken(
            here,
            f"event {here} ({event.action}) does not follow event #{previous.seq} of its "
            "chain: an event was deleted, inserted, moved or altered before it",
        )
    if not hmac.compare_digest(_mac_of(event), event.hash):
        raise _Broken(
            here,
            f"event {here} ({event.action}) was altered: its content no longer matches its MAC",
        )
    return _Link(event.chain, event.seq, event.hash)


def _mac_of(event: AuditEvent) -> str:
    try:
        return compute_hash(event)
    except ValueError:
        return ""  # data no MAC can cover (a nested value on an account chain): edited by hand


class _ChainEnds:
    """Each chain's last event must be what its AuditChain row records (a missing row is
    rebuilt from the last event on the next append, so it proves nothing either way)."""

    def __init__(self):
        self.pending: list[_Link] = []

    def add(self, last: _Link) -> None:
        self.pending.append(last)
        if len(self.pending) >= _BATCH:
            self.check()

    def check(self) -> None:
        names = [last.chain for last in self.pending]
        rows = {row.name: row for row in AuditChain.objects.filter(name__in=names)}
        for last in self.pending:
            row = rows.get(last.chain)
            if row is not None and (row.last_seq, row.last_hash) != (last.seq, last.hash):
                raise _ends_apart(last, row)
        self.pending = []


def _ends_apart(last: _Link, row: AuditChain) -> _Broken:
    ends = f"chain {last.chain} ends at event #{last.seq} but its row records #{row.last_seq}"
    if row.last_seq > last.seq:
        missing = Position(last.chain, last.seq + 1)
        return _Broken(
            missing, f"event {missing} is missing: {ends}: events after #{last.seq} were deleted"
        )
    # The first event the row does not vouch for.
    unvouched = Position(last.chain, min(row.last_seq + 1, last.seq))
    return _Broken(
        unvouched,
        f"event {unvouched} does not match its chain's row: {ends}: its last events were "
        "replaced or added by hand",
    )


@dataclass(frozen=True)
class _Claim:
    """An anchor's record of an account chain's event: that event must still be stored."""

    anchor: Position
    event: Position
    hash: str


class _AnchoredEvents:
    def __init__(self):
        self.pending: list[_Claim] = []

    def add(self, anchor_event: AuditEvent) -> None:
        anchor = Position(anchor_event.chain, anchor_event.seq)
        chains = anchor_event.data.get("chains")
        if not isinstance(chains, dict):
            raise _Broken(anchor, f"anchor {anchor} records no chains")
        for name, link in chains.items():
            seq, _, mac = str(link).partition(":")
            if not seq.isdigit() or len(mac) != 64:
                raise _Broken(anchor, f"anchor {anchor} records {name} as {link!r}, not SEQ:MAC")
            self.pending.append(_Claim(anchor, Position(name, int(seq)), mac))
            if len(self.pending) >= _CLAIMS_BATCH:
                self.check()

    def check(self) -> None:
        if not self.pending:
            return
        wanted = reduce(or_, (Q(chain=c.event.chain, seq=c.event.seq) for c in self.pending))
        stored = {
            Position(chain, seq): mac
            for chain, seq, mac in AuditEvent.objects.filter(wanted).values_list(
                "chain", "seq", "hash"
            )
        }
        for claim in self.pending:
            mac = stored.get(claim.event)
            if mac is None:
                raise _Broken(
                    claim.event,
                    f"event {claim.event} is missing, though anchor {claim.anchor} recorded "
                    "it: its chain was cut back",
                )
            if not hmac.compare_digest(mac, claim.hash):
                raise _Broken(
                    claim.event,
                    f"event {claim.event} is not the one anchor {claim.anchor} recorded: its "
                    "chain was rewritten",
                )
        self.pending = []


@dataclass(frozen=True)
class ChainHead:
    """The bank chain's newest link, as kept outside the database (`--head`): `SEQ:MAC`."""

    seq: int
    mac: str

    def __str__(self) -> str:
        return f"{self.seq}:{self.mac}"

    @classmethod
    def parse(cls, text: str) -> "ChainHead":
        seq, _, mac = text.partition(":")
        if not seq.isdigit() or len(mac) != 64:
            raise ValueError(f"expected ID:MAC (a number, a colon, 64 hex digits), got {text!r}")
        return cls(int(seq), mac.lower())


def newest_link() -> ChainHead | None:
    """The bank chain's newest event, seq and MAC, to keep outside the database (--head). The
    account chains are covered through it: the anchors on the bank chain record their heads."""
    last = (
        AuditEvent.objects.filter(chain=BANK_CHAIN).order_by("-seq").values("seq", "hash").first()
    )
    return ChainHead(last["seq"], last["hash"]) if last else None


def check_kept_head(expected: ChainHead) -> str:
    """Why a link kept earlier is no longer on the bank chain, or "" when it still is.

    Verification alone cannot tell a trail cut back (or rewritten by someone with the key) from
    a genuine one; a link written down elsewhere can.
    """
    stored = (
        AuditEvent.objects.filter(chain=BANK_CHAIN, seq=expected.seq)
        .values_list("hash", flat=True)
        .first()
    )
    if stored is None:
        return f"event #{expected.seq} is missing: the trail was truncated"
    if not hmac.compare_digest(stored, expected.mac):
        return f"event #{expected.seq} has another MAC: the trail was rewritten"
    return ""
