"""Project-level views: health check and the problem-details 404/500 handlers."""

import logging

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from .exception_handlers import problem_json_response
from .metrics import count_infrastructure_error
from .outages import CACHE_OUTAGE_ERRORS, DATABASE_OUTAGE_ERRORS
from .problems import ServiceUnavailable

logger = logging.getLogger(__name__)


def _wants_problem(request) -> bool:
    return request.path.startswith(("/api/", "/healthz"))


@csrf_exempt  # it changes nothing; any method but GET/HEAD gets a 405 problem, not a CSRF page
def healthz(request):
    if request.method not in ("GET", "HEAD"):
        response = problem_json_response(
            status_code=405,
            code="method_not_allowed",
            title="Method not allowed",
            detail=f'Method "{request.method}" not allowed.',
        )
        response["Allow"] = "GET, HEAD"
        return response
    checks = {"database": _database_answers(), "cache": _cache_answers()}
    states = {name: "ok" if ok else "unavailable" for name, ok in checks.items()}
    if all(checks.values()):
        return JsonResponse({"status": "ok", **states})
    down = ", ".join(name for name, ok in checks.items() if not ok)
    logger.warning("Health check: unreachable: %s", down)
    return _unavailable_response(ServiceUnavailable(f"Unreachable: {down}."), **states)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DATABASE_OUTAGE_ERRORS as error:
        count_infrastructure_error(error)
        return False
    return True


def _cache_answers() -> bool:
    """A read of the shared cache (rate limits): Redis, or the database table without it."""
    try:
        cache.get("healthz:probe")
    except CACHE_OUTAGE_ERRORS as error:
        count_infrastructure_error(error)
        return False
    return True


def _unavailable_response(exc: ServiceUnavailable, **extra):
    response = problem_json_response(
        status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **extra
    )
    response["Retry-After"] = str(exc.retry_after)
    return response


def bad_request(request, exception=None):
    """Django's own 400s (a Host not in DJANGO_ALLOWED_HOSTS, other suspicious requests)."""
    if not _wants_problem(request):
        return defaults.bad_request(request, exception)
    # The one such 400 a client can cause by accident is a Host this server does not serve.
    return problem_json_response(
        status_code=400,
        code="validation_error",
        title="Invalid request",
        detail="One or more fields are invalid.",
        errors={"Host": ["This server does not answer for this host name."]},
    )


def not_found(request, exception=None):
    if not _wants_problem(request):
        return defaults.page_not_found(request, exception)
    return problem_json_response(
        status_code=404, code="not_found", title="Not found", detail="No such resource."
    )


def server_error(request):
    if not _wants_problem(request):
        return defaults.server_error(request)
    return problem_json_response(
        status_code=500,
        code="server_error",
        title="Internal server error",
        detail="The server could not complete the request; it has been logged.",
    )
