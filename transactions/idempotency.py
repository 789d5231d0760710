"""Idempotency keys for money-moving POSTs, holds included (docs/api.md "Idempotency").

A key is claimed in its own short transaction before the movement starts, so a concurrent request
with the same key sees it at once (409 idempotency_key_in_use) instead of queueing behind the
movement's locks. The answer is then stored in the same transaction as the movement: a worker that
dies after commit and before answering still leaves the answer for the client's retry. A claim
whose worker died before committing is taken over once it is older than IDEMPOTENCY_CLAIM_TIMEOUT.

A take-over stamps the claim with a new `locked_at`, and the answer is only stored (and the
claim only released) by the holder of the current stamp: a worker that was merely slow, not dead,
finds its claim taken, and its movement rolls back instead of moving the money a second time.

On the SQL engine (transactions/sql_posting.py) a deposit, withdrawal or transfer claims its key
inside its one call instead, in the movement's own transaction: a racing duplicate waits on the
key's unique index until the first commits, then replays its answer. What that call stores is a
reference to the posted transaction, whose rendering is the answer (`_replayed`). A refusal rolls
the call back, claim included; the refusal is then stored here, as the Python engine stores it.
"""

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from atm_project.problems import (
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidRequest,
)

from .models import Hold, IdempotencyKey, Transaction
from .selectors import as_first_answered
from .sql_posting import Claim, Replay, posts_in_sql

# What a movement hands back: a posted transaction, or a hold (created or voided).
Done = TypeVar("Done", Transaction, Hold)

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")
# Refusals that did not reach the ledger are not kept, so the client can fix and retry (401: a
# token the SQL engine's posting found revoked).
_NOT_KEPT_STATUSES = {400, 401, 429}
RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict
    replayed: bool = False


def request_fingerprint(*, method: str, path: str, data) -> str:
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    material = f"{method.upper()}\n{path.rstrip('/')}\n{canonical}"
    return hashlib.sha256(material.encode()).hexdigest()


def validate_key(key: str) -> str:
    if not _VALID_KEY.fullmatch(key):
        raise InvalidRequest(HEADER, "Use 1 to 255 printable ASCII characters.")
    return key


def run_idempotently(
    *,
    user,
    key: str | None,
    fingerprint: str,
    move: Callable[..., Done],
    render: Callable[[Done], dict],
    render_error: Callable[[DomainError], dict],
    success_status: int = 201,
    one_call: bool = False,
) -> Outcome:
    """Run `move` at most once per (user, key) and answer every retry with the first answer.

    `user` needs only its `pk`: a money-moving request's user may be the token's, unloaded
    (atm_project/authentication.py).

    `move(on_posted=...)` must call `on_posted` with its result (a posted transaction, or a hold)
    inside the movement's transaction; that is where the answer is stored, so it commits exactly
    when the money does. With `one_call` (a deposit, withdrawal or transfer) on the SQL engine,
    `move(claim=...)` hands the key to the engine's one call instead. The caller (the HTTP layer)
    says how a result and a refusal are rendered; `render` runs under the movement's row locks,
    so it must not query the database.
    """
    if key is None:
        return Outcome(success_status, render(move()))
    key = validate_key(key)
    if one_call and posts_in_sql():
        return _run_in_one_call(
            user=user,
            claim=Claim(key, fingerprint),
            move=move,
            render=render,
            render_error=render_error,
            success_status=success_status,
        )
    claim = _claim(user=user, key=key, fingerprint=fingerprint)
    if claim.status == IdempotencyKey.Status.COMPLETED:
        return _replayed(claim.response_status, claim.response_body, claim.transaction_id, render)
    answer: dict = {}

    def store_answer(done: Done) -> None:
        answer["body"] = render(done)
        posted = done if isinstance(done, Transaction) else None
        if not _complete(claim, status=success_status, body=answer["body"], posted=posted):
            # Raised inside the movement's transaction: the money does not move twice.
            raise IdempotencyKeyInUse("This Idempotency-Key was taken over by a retry.")

    try:
        move(on_posted=store_answer)
        return Outcome(success_status, answer["body"])
    except DomainError as error:
        if error.status in _NOT_KEPT_STATUSES:
            _release(claim)
        else:
            _complete(claim, status=error.status, body=render_error(error))
        raise
    except BaseException:
        _release(claim)
        raise


def _run_in_one_call(*, user, claim: Claim, move, render, render_error, success_status) -> Outcome:
    try:
        done = move(claim=claim)
    except (IdempotencyKeyInUse, IdempotencyKeyReused):
        raise  # the key's own state, not an answer to keep
    except DomainError as error:
        replay = _keep_refusal(user, claim, error, render_error)
        if replay is None:
            raise
        return _replayed(replay.status, replay.body, replay.transaction_id, render)
    if isinstance(done, Replay):
        return _replayed(done.status, done.body, done.transaction_id, render)
    return Outcome(success_status, render(done))


def _keep_refusal(user, claim: Claim, error: DomainError, render_error) -> Replay | None:
    """Store a refusal the one call rolled back, as the first answer under its key; or, when a
    racing duplicate answered first, that answer (the key's answer is the first one stored)."""
    if error.status in _NOT_KEPT_STATUSES:
        return None
    stored = _claim(user=user, key=claim.key, fingerprint=claim.fingerprint)
    if stored.status == IdempotencyKey.Status.COMPLETED:
        return Replay(stored.response_status, stored.response_body, stored.transaction_id)
    _complete(stored, status=error.status, body=render_error(error))
    return None


def _replayed(status: int, body: dict | None, transaction_id, render) -> Outcome:
    """The stored answer; the SQL engine stores the posted transaction, rendered here as it was
    first answered (transactions never change, except a later reversal's status mark)."""
    if body is None:
        body = render(as_first_answered(transaction_id))
    return Outcome(status, body, replayed=True)


def purge_expired_keys(*, now=None) -> int:
    cutoff = (now or timezone.now()) - RETENTION
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def _claim(*, user, key: str, fingerprint: str) -> IdempotencyKey:
    # A claim can vanish between our failed insert and our read (its request ended in a 400 and
    # released it): then the key is free again and we insert once more.
    for _ in range(3):
        try:
            # Its own transaction: committed at once, so a concurrent request sees the claim.
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    user_id=user.pk, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            existing = IdempotencyKey.objects.filter(user_id=user.pk, key=key).first()
        if existing is not None:
            return _existing_claim(existing, fingerprint)
    raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed.")


def _existing_claim(existing: IdempotencyKey, fingerprint: str) -> IdempotencyKey:
    if existing.fingerprint != fingerprint:
        raise IdempotencyKeyReused("This Idempotency-Key was already used for a different request.")
    if existing.status == IdempotencyKey.Status.COMPLETED:
        return existing
    if _take_over_abandoned_claim(existing):
        return existing
    raise IdempotencyKeyInUse("A request with this Idempotency-Key is still being processed.")


def _take_over_abandoned_claim(claim: IdempotencyKey) -> bool:
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.IDEMPOTENCY_CLAIM_TIMEOUT)
    taken = IdempotencyKey.objects.filter(
        pk=claim.pk, status=IdempotencyKey.Status.IN_PROGRESS, locked_at__lt=stale_before
    ).update(locked_at=now)
    if taken == 1:
        claim.locked_at = now
    return taken == 1


def _still_ours(claim: IdempotencyKey):
    """The claim, only while this request still holds it (no retry has taken it over)."""
    return IdempotencyKey.objects.filter(
        pk=claim.pk, status=IdempotencyKey.Status.IN_PROGRESS, locked_at=claim.locked_at
    )


def _complete(claim: IdempotencyKey, *, status: int, body: dict, posted=None) -> bool:
    """Store the answer; False if the claim is no longer this request's."""
    stored = _still_ours(claim).update(
        status=IdempotencyKey.Status.COMPLETED,
        response_status=status,
        response_body=body,
        transaction=posted,
    )
    return stored == 1


def _release(claim: IdempotencyKey) -> None:
    """Free the key for a retry (the request did not reach the ledger, or failed)."""
    _still_ours(claim).delete()
