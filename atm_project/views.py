"""Project-level views: health check and the problem-details 404/500 handlers."""

import logging

from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from .exception_handlers import problem_json_response
from .metrics import count_infrastructure_error

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
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as error:
        count_infrastructure_error(error)
        logger.warning("Health check: the database is unreachable")
        return problem_json_response(
            status_code=503,
            code="service_unavailable",
            title="Service unavailable",
            detail="The database is unreachable.",
            database="unavailable",
        )
    return JsonResponse({"status": "ok", "database": "ok"})


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
