"""What counts as an outage of the database or the shared cache, and the 503 it becomes.

A dependency that cannot be reached is not a bug in the request: the client is told to come
back (503 `service_unavailable` with Retry-After) instead of getting a 500. Only errors that
mean "unreachable" qualify; a constraint violation or a bad query stays a 500 and is logged.
"""

import logging

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from .metrics import RATE_LIMITS_FAILED_OPEN, count_cache_error
from .problems import ServiceUnavailable

logger = logging.getLogger(__name__)

# OperationalError covers a refused or lost connection (and SQLite's "database is locked" after
# its busy timeout); InterfaceError a connection already closed under us.
DATABASE_OUTAGE_ERRORS = (OperationalError, InterfaceError)
# Django's Redis cache lets redis-py's errors through; its database cache raises the above.
CACHE_OUTAGE_ERRORS = (RedisConnectionError, RedisTimeoutError, *DATABASE_OUTAGE_ERRORS)


def database_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The database is unreachable; try again shortly.")


def cache_unavailable() -> ServiceUnavailable:
    return ServiceUnavailable("The shared cache is unreachable; try again shortly.")


def as_service_unavailable(exc: BaseException) -> ServiceUnavailable | None:
    """The 503 an outage error becomes, or None when `exc` is not an outage."""
    if isinstance(exc, DATABASE_OUTAGE_ERRORS):
        logger.warning("Database unreachable: %s", type(exc).__name__)
        return database_unavailable()
    if isinstance(exc, CACHE_OUTAGE_ERRORS):
        logger.warning("Shared cache unreachable: %s", type(exc).__name__)
        return cache_unavailable()
    return None


def count_failed_open(scope: str, exc: BaseException | None) -> None:
    """A request let through unthrottled: logged, and counted in /metrics."""
    RATE_LIMITS_FAILED_OPEN.labels(scope).inc()
    if exc is not None:
        count_cache_error(exc)
    logger.warning(
        "Shared cache unreachable (%s): rate limit %s not applied (fails open)",
        type(exc).__name__ if exc else "no count",
        scope,
    )
