"""RFC 9457 problem details for every error under /api/ and /healthz."""

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework_simplejwt.exceptions import InvalidToken

from audit.access import record_foreign_access_after_response

from .authentication import refusal_in_simplejwts_words
from .metrics import count_infrastructure_error
from .middleware import current_request_id
from .outages import as_service_unavailable
from .problems import DomainError, InvalidRequest, UserNoLongerValid

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://atm.example/problems/"

# DRF exception class -> (code, title). Order matters: subclasses before their bases.
_DRF_PROBLEMS: list[tuple[type[exceptions.APIException], str, str]] = [
    (InvalidToken, "authentication_failed", "Authentication failed"),
    (exceptions.ParseError, "parse_error", "Malformed request body"),
    (exceptions.ValidationError, "validation_error", "Invalid request"),
    (exceptions.NotAuthenticated, "not_authenticated", "Authentication required"),
    (exceptions.AuthenticationFailed, "authentication_failed", "Authentication failed"),
    (exceptions.PermissionDenied, "permission_denied", "Permission denied"),
    (exceptions.NotFound, "not_found", "Not found"),
    (exceptions.MethodNotAllowed, "method_not_allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not_acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type", "Unsupported media type"),
    (exceptions.Throttled, "throttled", "Too many requests"),
]


def problem_body(*, status_code: int, code: str, title: str, detail: str, **extra) -> dict:
    body = {
        "type": PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": status_code,
        "detail": detail,
        "code": code,
        "request_id": current_request_id(),
    }
    body.update(extra)
    return body


def problem_response(*, status_code: int, code: str, title: str, detail: str, **extra) -> Response:
    body = problem_body(status_code=status_code, code=code, title=title, detail=detail, **extra)
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_json_response(*, status_code: int, code: str, title: str, detail: str, **extra):
    """The same body for plain Django views (404/500 handlers, health check)."""
    body = problem_body(status_code=status_code, code=code, title=title, detail=detail, **extra)
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def _flatten_detail(detail) -> str:
    if isinstance(detail, dict):
        detail = detail.get("detail", "")
    if isinstance(detail, list):
        return " ".join(str(item) for item in detail)
    return str(detail)


def _validation_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {key: value if isinstance(value, list) else [value] for key, value in detail.items()}
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def domain_error_response(exc: DomainError) -> Response:
    extra = {"errors": exc.errors} if isinstance(exc, InvalidRequest) else {}
    response = problem_response(
        status_code=exc.status, code=exc.code, title=exc.title, detail=exc.detail, **extra
    )
    retry_after = getattr(exc, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def _code_and_title(exc: exceptions.APIException) -> tuple[str, str]:
    for exc_class, code, title in _DRF_PROBLEMS:
        if isinstance(exc, exc_class):
            return code, title
    return "error", "Request refused"


def _drf_error_response(exc: exceptions.APIException) -> Response:
    code, title = _code_and_title(exc)
    extra = {}
    if code == "validation_error":
        extra["errors"] = _validation_errors(exc.detail)
        detail = "One or more fields are invalid."
    else:
        detail = _flatten_detail(exc.detail)
    response = problem_response(
        status_code=exc.status_code, code=code, title=title, detail=detail, **extra
    )
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response["Retry-After"] = str(max(1, int(exc.wait)))
    return response


def problem_exception_handler(exc, context):
    """DRF's EXCEPTION_HANDLER: every error becomes a problem; unexpected ones are logged."""
    count_infrastructure_error(exc)
    response = _problem_for(exc, context.get("request"))
    if response.status_code == status.HTTP_401_UNAUTHORIZED:
        # RFC 9110: a 401 names the scheme the client should use (also when the posting itself
        # found the token's user no longer valid: problems.UserNoLongerValid).
        response["WWW-Authenticate"] = 'Bearer realm="api"'
    if response.status_code == status.HTTP_404_NOT_FOUND:
        # Answered like a missing object, but audited (once sent) if it is someone else's.
        record_foreign_access_after_response(response, context.get("request"), context.get("view"))
    return response


def _problem_for(exc, request=None) -> Response:
    if isinstance(exc, UserNoLongerValid):
        exc = refusal_in_simplejwts_words(request) or exc
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.APIException):
        return _drf_error_response(exc)
    unavailable = as_service_unavailable(exc)
    if unavailable is not None:
        return domain_error_response(unavailable)
    logger.exception("Unhandled error while serving the request")
    return problem_response(
        status_code=500,
        code="server_error",
        title="Internal server error",
        detail="The server could not complete the request; it has been logged.",
    )
