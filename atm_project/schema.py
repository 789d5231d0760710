"""OpenAPI: problem details and headers documented on every operation."""

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse

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
    "503": "service_unavailable: the database or the shared cache is unreachable; nothing was "
    "applied; retry after Retry-After seconds",
}

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The client's request id if it sent a sane one, else a new one.",
        "schema": {"type": "string"},
    }
}


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "description": "Seconds to wait: until the rate-limit window ends (429), or before "
        "retrying while a dependency is down (503).",
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
                            "required": ["status", "database", "cache"],
                            "properties": {
                                "status": {"type": "string", "enum": ["ok"]},
                                "database": {"type": "string", "enum": ["ok"]},
                                "cache": {"type": "string", "enum": ["ok"]},
                            },
                        }
                    }
                },
            },
            "503": {
                "description": "service_unavailable: the database or the shared cache is "
                "unreachable; the problem document's `database` and `cache` say which "
                '("ok" or "unavailable")',
            },
        },
    }
}


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the common problems, X-Request-ID,
    Retry-After on 429 and Idempotent-Replayed where an Idempotency-Key is taken; and /healthz,
    a plain Django view, is documented beside the API."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    paths = result.setdefault("paths", {})
    paths.setdefault("/healthz", HEALTHZ_PATH)
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
                if status in {"429", "503"}:
                    headers.update(RETRY_AFTER_HEADER)
                if replayable and status not in {"400", "429"}:
                    headers.update(IDEMPOTENT_REPLAYED_HEADER)
                if status.startswith(("4", "5")):
                    response["content"] = {"application/problem+json": {"schema": reference}}
    return result
