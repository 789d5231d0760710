"""OpenAPI: problem details and headers documented on every operation."""

import re

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

from .exception_handlers import _DRF_PROBLEMS
from .problems import DomainError

IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description="1-255 printable ASCII characters, scoped to the user. A retry with the same key "
    "and request gets the first answer back (header Idempotent-Replayed: true) and moves no money.",
)

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "detail", "code", "request_id"],
    "properties": {
        "type": {"type": "string", "format": "uri"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "request_id": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
            "description": "Only on validation_error: the messages for each bad field.",
        },
    },
}

_COMMON_PROBLEMS = {
    "400": "validation_error (bad fields, see `errors`) or parse_error (malformed JSON)",
    "401": "not_authenticated or authentication_failed",
    "403": "permission_denied",
    "404": "not_found: unknown route, or an object that does not exist or is not yours",
    "405": "method_not_allowed",
    "406": "not_acceptable",
    "413": "payload_too_large: the body is over DATA_UPLOAD_MAX_MEMORY_SIZE (64 KiB)",
    "415": "unsupported_media_type: request bodies must be application/json",
    "429": "throttled; see the Retry-After header",
    "500": "server_error",
}

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The client's request id if it sent a sane one, else a new one.",
        "schema": {"type": "string"},
    }
}


def problem(description: str) -> OpenApiResponse:
    """An error response; its description names the problem codes it can carry (see
    `add_problem_responses`, which lists them under `x-problem-codes`)."""
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


# Each error response lists, machine-readably, the `code`s its body can carry (docs/api.md's
# error table is checked against these).
PROBLEM_CODES_EXTENSION = "x-problem-codes"
# Codes answered outside the exception handler's tables, by middleware and plain Django views.
_OTHER_PROBLEM_CODES = ("payload_too_large", "server_error", "service_unavailable")


def _domain_error_classes(base: type[DomainError] = DomainError):
    for subclass in base.__subclasses__():
        yield subclass
        yield from _domain_error_classes(subclass)


def known_problem_codes() -> set[str]:
    """Every `code` a problem body can carry: the domain errors', DRF's errors' as the exception
    handler names them, and those of the middleware and plain views."""
    domain = {error.code for error in _domain_error_classes()}
    drf = {code for _, code, _ in _DRF_PROBLEMS}
    return domain | drf | set(_OTHER_PROBLEM_CODES)


def problem_codes_named_in(description: str, known: set[str]) -> list[str]:
    """The known codes a response's description names, in the order it names them."""
    words = re.findall(r"[a-z_]+", description)
    return list(dict.fromkeys(word for word in words if word in known))


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds until the rate-limit window ends.",
        "schema": {"type": "integer", "minimum": 1},
    }
}

IDEMPOTENT_REPLAYED_HEADER = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored answer to an earlier request with the "
        "same Idempotency-Key (no money moved this time).",
        "schema": {"type": "string", "enum": ["true"]},
    }
}

HEALTHZ_PATH = {
    "get": {
        "operationId": "healthz",
        "summary": "Health check (no authentication)",
        "tags": ["health"],
        "security": [],
        "responses": {
            "200": {
                "description": "The service and its database answer.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["status", "database"],
                            "properties": {
                                "status": {"type": "string", "enum": ["ok"]},
                                "database": {"type": "string", "enum": ["ok"]},
                            },
                        }
                    }
                },
            },
            "503": {"description": "service_unavailable: the database is unreachable"},
        },
    }
}


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the common problems, X-Request-ID,
    Retry-After on 429 and Idempotent-Replayed where an Idempotency-Key is taken; every error
    response lists its problem codes; and /healthz, a plain Django view, is documented beside
    the API."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    paths = result.setdefault("paths", {})
    paths.setdefault("/healthz", HEALTHZ_PATH)
    known_codes = known_problem_codes()
    for path, path_item in paths.items():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            if path != "/healthz":
                for status, description in _COMMON_PROBLEMS.items():
                    responses.setdefault(status, {"description": description})
            replayable = any(
                parameter.get("name") == IDEMPOTENCY_KEY_PARAMETER.name
                for parameter in operation.get("parameters", [])
            )
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers.update(REQUEST_ID_HEADER)
                if status == "429":
                    headers.update(RETRY_AFTER_HEADER)
                if replayable and status not in {"400", "429"}:
                    headers.update(IDEMPOTENT_REPLAYED_HEADER)
                if status.startswith(("4", "5")):
                    response["content"] = {"application/problem+json": {"schema": reference}}
                    response[PROBLEM_CODES_EXTENSION] = problem_codes_named_in(
                        response.get("description", ""), known_codes
                    )
    return result
