"""OpenAPI: each operation's problems (by code, with a real example each), tags per resource,
request examples, and the headers every response carries.

`DocumentedAutoSchema` is drf-spectacular's schema class for every view. It lists on each
operation only the problems that operation can answer with: 401 and 403 only where a token is
needed, 404 only where the path names an object, 400/413/415 only where there is input, 429
only where a rate limit applies, plus the domain problems its view declares with `problem()`
(whose description names their codes) and those of atm_project/api_docs.py.
"""

import re
from dataclasses import dataclass

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny

from .api_docs import OPERATIONS, QUERY_DESCRIPTIONS, OperationDoc


class DeferringJWTScheme(SimpleJWTScheme):
    """The project's JWT authentication is simplejwt's to a client: the same bearer scheme."""

    target_class = "atm_project.authentication.DeferringJWTAuthentication"


IDEMPOTENCY_KEY_PARAMETER = OpenApiParameter(
    name="Idempotency-Key",
    type={
        "type": "string",
        "minLength": 1,
        "maxLength": 255,
        # Printable ASCII; no space at either end, since HTTP would strip it.
        "pattern": "^[\\x21-\\x7E]([\\x20-\\x7E]*[\\x21-\\x7E])?$",
        "example": "alice-paycheck-2024-05-31",
    },
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


@dataclass(frozen=True)
class ProblemDoc:
    status: int
    title: str
    detail: str  # a real detail this code is answered with


# Every problem code an operation can document, with the answer a client really gets.
PROBLEMS: dict[str, ProblemDoc] = {
    "validation_error": ProblemDoc(400, "Invalid request", "One or more fields are invalid."),
    "parse_error": ProblemDoc(
        400, "Malformed request body", "JSON parse error - Expecting value: line 1 column 1."
    ),
    "not_authenticated": ProblemDoc(
        401, "Authentication required", "Authentication credentials were not provided."
    ),
    "authentication_failed": ProblemDoc(
        401, "Authentication failed", "Given token not valid for any token type"
    ),
    "permission_denied": ProblemDoc(
        403, "Permission denied", "An ATM session cannot use this endpoint."
    ),
    "not_found": ProblemDoc(404, "Not found", "No such account."),
    "account_not_active": ProblemDoc(409, "Account not active", "Account 1000000008 is frozen."),
    "account_not_empty": ProblemDoc(
        409, "Account not empty", "Account 1000000008 still holds 250.00; empty it first."
    ),
    "idempotency_key_in_use": ProblemDoc(
        409,
        "Idempotency key in use",
        "A request with this Idempotency-Key is still being processed.",
    ),
    "payload_too_large": ProblemDoc(
        413, "Payload too large", "Request bodies are limited to 65536 bytes."
    ),
    "unsupported_media_type": ProblemDoc(
        415, "Unsupported media type", 'Unsupported media type "text/plain" in request.'
    ),
    "insufficient_funds": ProblemDoc(
        422, "Insufficient funds", "Balance 30.00 is less than 100.00."
    ),
    "daily_limit_exceeded": ProblemDoc(
        422,
        "Daily withdrawal limit exceeded",
        "Withdrawn today 900.00 plus 200.00 is over the daily limit of 1000.00.",
    ),
    "currency_mismatch": ProblemDoc(
        422, "Currency mismatch", "Account 1000000016 holds EUR, not USD."
    ),
    "idempotency_key_reused": ProblemDoc(
        422,
        "Idempotency key reused",
        "This Idempotency-Key was used with a different request.",
    ),
    "hold_not_pending": ProblemDoc(
        409, "Hold not pending", "Hold 5f0c1a9e-2b7d-4c1e-9a63-0d8e4f7b2c11 is captured."
    ),
    "capture_exceeds_hold": ProblemDoc(
        422, "Capture exceeds hold", "Capture of 60.00 is more than the hold's 40.00."
    ),
    "card_blocked": ProblemDoc(
        423, "Card blocked", "This card is blocked; the bank's staff can unblock it."
    ),
    "throttled": ProblemDoc(
        429, "Too many requests", "Request was throttled. Expected available in 42 seconds."
    ),
    "service_unavailable": ProblemDoc(
        503,
        "Service unavailable",
        "The database cannot be reached right now; nothing was applied. Retry later.",
    ),
}
_CODE_IN_TEXT = re.compile(r"\b(" + "|".join(PROBLEMS) + r")\b")
# Each error response also lists its codes machine-readably (docs/api.md's error table is checked
# against these by atm_project/tests/test_api_reference.py).
PROBLEM_CODES_EXTENSION = "x-problem-codes"
EXAMPLE_REQUEST_ID = "8d0f5c2b9a7e4e31b6c4d2f0a1e3b5c7"
PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_REFERENCE = {"$ref": "#/components/schemas/Problem"}

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
        "tags": ["Operations"],
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
                "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REFERENCE}},
                PROBLEM_CODES_EXTENSION: ["service_unavailable"],
            },
        },
    }
}


def add_problem_responses(result, generator, request, public):
    """Postprocessing hook: every response documents X-Request-ID, 429s Retry-After, and those
    of operations taking an Idempotency-Key Idempotent-Replayed; /healthz, a plain Django view,
    is documented beside the API."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    # A component's description is its serializer's docstring, written for the project's
    # developers (how it is built), not for the API's clients.
    for name, component in components.items():
        component.pop("description", None)
        # Request bodies (drf-spectacular names them "...Request") take only the fields they
        # define: any other is refused (atm_project/serializers.py), and the schema says so.
        if name.endswith("Request") and component.get("type") == "object":
            component["additionalProperties"] = False
    components["Problem"] = PROBLEM_SCHEMA
    paths = result.setdefault("paths", {})
    paths.setdefault("/healthz", HEALTHZ_PATH)
    for path_item in paths.values():
        for method, operation in path_item.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            responses = operation.setdefault("responses", {})
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
    return result


# Tag (resource) of each path, first match wins; the tags' descriptions are in settings.
_TAGS = [
    (r"^/api/v1/?$", "API root"),
    (r"^/api/v1/auth/card", "ATM sessions"),
    (r"^/api/v1/auth/", "Authentication"),
    (r"^/api/v1/users/", "Customers"),
    (r"^/api/v1/accounts/\{number\}/cards/", "Cards"),
    (r"^/api/v1/accounts/\{number\}/(deposit|withdraw)/", "Money movement"),
    (r"^/api/v1/transfers/", "Money movement"),
    (r"^/api/v1/holds/", "Holds"),
    (r"^/api/v1/accounts/\{number\}/holds/", "Holds"),
    (r"^/api/v1/accounts/\{number\}/(transactions|mini-statement|statement)/", "History"),
    (r"^/api/v1/transactions/", "History"),
    (r"^/api/v1/accounts/", "Accounts"),
]


class DocumentedAutoSchema(AutoSchema):
    """drf-spectacular's AutoSchema with the project's tags, problems and examples."""

    def get_tags(self) -> list[str]:
        for pattern, tag in _TAGS:
            if re.match(pattern, self.path):
                return [tag]
        return super().get_tags()

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        doc = OPERATIONS.get((method.upper(), path), OperationDoc())
        if doc.summary:
            operation["summary"] = doc.summary
        if doc.description:
            operation["description"] = doc.description
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and parameter["name"] in QUERY_DESCRIPTIONS:
                parameter["description"] = QUERY_DESCRIPTIONS[parameter["name"]]
        responses = operation["responses"]
        _success_as_json_only(responses, doc)
        self._document_problems(operation, responses, doc)
        if doc.request_example is not None and "requestBody" in operation:
            body = operation["requestBody"]["content"]["application/json"]
            body["examples"] = {"example": {"value": doc.request_example}}
        return operation

    def _document_problems(self, operation: dict, responses: dict, doc: OperationDoc) -> None:
        codes_by_status: dict[int, list[str]] = {}
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                codes = _CODE_IN_TEXT.findall(response.get("description", ""))
                codes_by_status.setdefault(int(status), []).extend(codes)
        for status, codes in [*self._generic_problems(operation), *doc.problems.items()]:
            known = codes_by_status.setdefault(status, [])
            known.extend(code for code in codes if code not in known)
        codes_by_status.update(doc.only_problems)
        for status, codes in sorted(codes_by_status.items()):
            response = responses.setdefault(str(status), {})
            response.setdefault("description", ", ".join(codes) or "Problem details")
            response["content"] = {PROBLEM_MEDIA_TYPE: _problem_content(codes, operation)}
            response[PROBLEM_CODES_EXTENSION] = codes

    def _generic_problems(self, operation: dict) -> list[tuple[int, list[str]]]:
        """The problems any operation of this shape can answer with."""
        has_body = "requestBody" in operation
        has_query = any(p["in"] == "query" for p in operation.get("parameters", []))
        takes_key = any(
            p["name"] == IDEMPOTENCY_KEY_PARAMETER.name for p in operation.get("parameters", [])
        )
        problems = []
        if has_body or has_query or takes_key:
            problems.append((400, ["validation_error"] + (["parse_error"] if has_body else [])))
        if not self._is_public():
            problems.append((401, ["not_authenticated", "authentication_failed"]))
            problems.append((403, ["permission_denied"]))
        paginated = any(p["name"] == "cursor" for p in operation.get("parameters", []))
        if "{" in self.path or paginated:  # an unknown object, or a cursor not made here
            problems.append((404, ["not_found"]))
        if has_body:
            problems.append((413, ["payload_too_large"]))
            problems.append((415, ["unsupported_media_type"]))
        if self.view.get_throttles():
            problems.append((429, ["throttled"]))
        # Any operation: the database (or, for sign-in, the shared cache) may be unreachable.
        problems.append((503, ["service_unavailable"]))
        return problems

    def _is_public(self) -> bool:
        permissions = self.view.get_permissions()
        return all(isinstance(permission, AllowAny) for permission in permissions)


def _success_as_json_only(responses: dict, doc: OperationDoc) -> None:
    """A success is never a problem document: only JSON (or CSV, where offered) is listed."""
    for status, response in responses.items():
        if not status.startswith("2"):
            continue
        response.get("content", {}).pop(PROBLEM_MEDIA_TYPE, None)
        if status == "200" and doc.ok_schema is not None:
            response["description"] = doc.ok_schema.get("description", "OK")
            response.setdefault("content", {})["application/json"] = {"schema": doc.ok_schema}


def _problem_content(codes: list[str], operation: dict) -> dict:
    examples = {code: _problem_example(code, operation) for code in codes if code in PROBLEMS}
    content = {"schema": PROBLEM_REFERENCE}
    if examples:
        content["examples"] = examples
    return content


def _problem_example(code: str, operation: dict) -> dict:
    problem = PROBLEMS[code]
    value = {
        "type": f"https://atm.example/problems/{code.replace('_', '-')}",
        "title": problem.title,
        "status": problem.status,
        "detail": problem.detail,
        "code": code,
        "request_id": EXAMPLE_REQUEST_ID,
    }
    if code == "validation_error":
        field, message = _first_input(operation)
        value["errors"] = {field: [message]}
    return {"summary": problem.title, "value": value}


def _first_input(operation: dict) -> tuple[str, str]:
    """A field of this operation's input for the validation example, with a real message."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    example = body.get("examples", {}).get("example", {}).get("value") or {}
    if "amount" in example:
        return "amount", "The amount must be greater than 0."
    for name in example:
        return name, "This field is required."
    for parameter in operation.get("parameters", []):
        if parameter["in"] in ("query", "header"):
            return parameter["name"], "Enter a valid value."
    return "non_field_errors", "Invalid input."
