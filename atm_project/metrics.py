"""Prometheus metrics at GET /metrics: requests, latencies, money movements, infrastructure errors.

Under gunicorn every worker counts into files of its own in PROMETHEUS_MULTIPROC_DIR (set by
gunicorn_conf.py) and a scrape adds them all up, whichever worker answers it; without that
variable (manage.py runserver, tests) the counts live in this process.

The endpoint is open to loopback and, anywhere else, needs `Authorization: Bearer
$METRICS_TOKEN`. A request forwarded by a proxy (X-Forwarded-For) is never taken for loopback.
"""

import hmac
import ipaddress
import os
import time
from functools import wraps

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

from .problems import DomainError

HTTP_REQUESTS = Counter(
    "atm_http_requests_total",
    "HTTP requests answered, by method, route (the URL pattern's name) and status.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "atm_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MONEY_MOVEMENTS = Counter(
    "atm_money_movements_total",
    "Deposits, withdrawals, transfers and reversals that reached the ledger, by kind and outcome "
    "(posted, or the problem code that refused it).",
    ["kind", "outcome"],
)
DATABASE_ERRORS = Counter(
    "atm_database_errors_total",
    "Requests that failed on a database error, by error class.",
    ["error"],
)
CACHE_ERRORS = Counter(
    "atm_cache_errors_total",
    "Shared-cache (rate limit) operations that failed, by error class.",
    ["error"],
)

RATE_LIMITS_FAILED_OPEN = Counter(
    "atm_rate_limits_failed_open_total",
    "Requests let through without a rate-limit check because the shared cache was down, by "
    "limit (the money throttle fails open; sign-in paths fail closed instead).",
    ["scope"],
)

_CACHE_ERROR_MODULES = ("redis.",)
_LOOPBACK_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")


def count_money_movement(kind: str):
    """Decorates a ledger service: each call counts as posted, or as refused with its code."""

    def decorate(service):
        @wraps(service)
        def counted(*args, **kwargs):
            try:
                posted = service(*args, **kwargs)
            except DomainError as refusal:
                MONEY_MOVEMENTS.labels(kind, refusal.code).inc()
                raise
            except Exception:
                MONEY_MOVEMENTS.labels(kind, "error").inc()
                raise
            MONEY_MOVEMENTS.labels(kind, "posted").inc()
            return posted

        return counted

    return decorate


def count_infrastructure_error(exc: BaseException) -> None:
    """Counts an exception that reached a request's error handling if the database or the shared
    cache raised it."""
    if isinstance(exc, DatabaseError):
        DATABASE_ERRORS.labels(type(exc).__name__).inc()
    elif is_cache_error(exc):
        count_cache_error(exc)


def is_cache_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith(_CACHE_ERROR_MODULES)


def count_cache_error(exc: BaseException) -> None:
    CACHE_ERRORS.labels(type(exc).__name__).inc()


def _route(request) -> str:
    match = getattr(request, "resolver_match", None)
    if match is not None and match.view_name:
        return match.view_name
    # Never the raw path: account numbers and ids would make a series per customer.
    return "static" if request.path.startswith("/" + settings.STATIC_URL.lstrip("/")) else "none"


class MetricsMiddleware:
    """Counts and times every request; outermost, so it sees every answer, errors included."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        route = _route(request)
        HTTP_LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
        HTTP_REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        return response

    def process_exception(self, request, exception):
        # Plain Django views (the admin); API views report theirs in the exception handler.
        count_infrastructure_error(exception)


def _is_loopback(request) -> bool:
    if any(header in request.META for header in _LOOPBACK_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.META.get("REMOTE_ADDR", "")).is_loopback
    except ValueError:
        return False


def _has_metrics_token(request) -> bool:
    token = settings.METRICS_TOKEN
    offered = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode())


def _registry():
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def metrics_view(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    if not (_is_loopback(request) or _has_metrics_token(request)):
        response = HttpResponse("Metrics need a bearer token here.\n", status=401)
        response["Content-Type"] = "text/plain; charset=utf-8"
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
