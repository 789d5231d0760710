"""Limits on failed sign-ins to the staff admin, per (username, IP) pair.

django-ratelimit counts failures in the shared cache (Redis, or the database table), so the
limit holds across every worker and host. `ADMIN_SIGNIN_FAILURES` failures inside one window of
`ADMIN_SIGNIN_WINDOW` seconds lock the pair out for `ADMIN_SIGNIN_LOCK` seconds from the last
failure: a lock is a cache entry of its own, so it lasts its full time whatever the window
does. Counting the pair, not the username alone, means a stranger guessing from elsewhere
cannot lock a staff member out of their own desk. Every failure and every lock is audited.
"""

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django_ratelimit.core import get_usage

from audit.services import record_event
from security.throttling import IPRateLimit

GROUP = "admin.signin"
FAILED_EVENT = "admin.login_failed"
LOCKED_EVENT = "admin.login_locked"


@dataclass(frozen=True)
class SignInAttempt:
    username: str
    ip: str

    @classmethod
    def from_request(cls, request) -> "SignInAttempt":
        username = str(request.POST.get("username", ""))[:150]
        return cls(username=username, ip=IPRateLimit().key(request) or "unknown")

    @property
    def key(self) -> str:
        # Case variants of one name share a counter: stricter, never looser.
        return f"{self.username.strip().casefold()}|{self.ip}"

    @property
    def lock_key(self) -> str:
        # Hashed like django-ratelimit's own keys: no username in clear in the cache.
        return f"{GROUP}.lock." + hashlib.sha256(self.key.encode()).hexdigest()


def seconds_locked(attempt: SignInAttempt) -> int:
    """How long this pair is still refused; 0 when it may try."""
    locked_until = cache.get(attempt.lock_key)
    remaining = (locked_until or 0) - _now()
    return math.ceil(remaining) if remaining > 0 else 0


def record_failure(request, attempt: SignInAttempt, *, factor: str) -> None:
    """Count one failed sign-in (wrong password, or a missing or wrong code) and audit it; the
    failure that reaches the limit locks the pair and is audited as a lock too."""
    usage = get_usage(
        request,
        group=GROUP,
        key=lambda _group, _request: attempt.key,
        rate=f"{settings.ADMIN_SIGNIN_FAILURES}/{settings.ADMIN_SIGNIN_WINDOW}s",
        increment=True,
    )
    failures = usage["count"] if usage else 0
    record_event(
        action=FAILED_EVENT,
        object_type="admin.signin",
        data={"username": attempt.username, "factor": factor, "failures": failures},
    )
    # RATELIMIT_ENABLE=0 (load tests only) gives no usage: nothing is ever locked then.
    if usage is not None and failures >= settings.ADMIN_SIGNIN_FAILURES:
        _lock(attempt, failures)


def _lock(attempt: SignInAttempt, failures: int) -> None:
    lock = settings.ADMIN_SIGNIN_LOCK
    # The end time is kept too: a cache may hold an entry a little past its timeout.
    cache.set(attempt.lock_key, _now() + lock, lock)
    record_event(
        action=LOCKED_EVENT,
        object_type="admin.signin",
        data={
            "username": attempt.username,
            "failures": failures,
            "locked_seconds": lock,
        },
    )


def _now() -> float:
    return time.time()
