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
}

REQUEST_ID_HEADER = {
    "X-Request-ID": {
        "description": "The client's request id if it sent a sane one, else a new one.",
        "schema": {"type": "string"},
    }
}


def problem(description: str) -> OpenApiResponse:
    return OpenApiResponse(response=PROBLEM_SCHEMA, description=description)


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: every operation documents the common problems and X-Request-ID."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    reference = {"$ref": "#/components/schemas/Problem"}
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in _COMMON_PROBLEMS.items():
                responses.setdefault(status, {"description": description})
            for status, response in responses.items():
                response.setdefault("headers", {}).update(REQUEST_ID_HEADER)
                if status.startswith(("4", "5")):
                    response["content"] = {"application/problem+json": {"schema": reference}}
    return result
