"""What the API documentation says about each operation beyond what its view declares: a
summary and description in a client's words, the problems it can answer with (by code), and a
realistic request example. Read by atm_project.schema.DocumentedAutoSchema.

Keyed by (method, path) as the schema names them. A view's own `extend_schema` still applies;
the entries here add to it (problem codes) or replace it (summary, description).
"""

from dataclasses import dataclass, field

# Published demo data, so that "Try it out" works against `make run` as it is.
from .demo import DEMO_CARD, DEMO_CHECKING, DEMO_PIN, DEMO_SAVINGS

# The shape of a token, signed by nothing: it never authenticates.
EXAMPLE_TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIn0.c2lnbmF0dXJl"  # noqa: S105


@dataclass(frozen=True)
class OperationDoc:
    summary: str = ""
    description: str = ""
    # Extra problems this operation answers with: status -> codes.
    problems: dict[int, list[str]] = field(default_factory=dict)
    # The exact problems of a status, where the view's declaration is broader.
    only_problems: dict[int, list[str]] = field(default_factory=dict)
    request_example: dict | None = None
    # A JSON schema for the 200 body when the view's serializer does not give one.
    ok_schema: dict | None = None


# What each filter of a list or statement does, wherever it appears.
QUERY_DESCRIPTIONS = {
    "account": "Only transactions of this account of yours (6-20 digits).",
    "kind": "Only this kind: deposit, withdrawal, transfer or reversal.",
    "created_after": "Only what was created at or after this time (ISO 8601 with offset).",
    "created_before": "Only what was created before this time (ISO 8601 with offset).",
    "cursor": "Opaque position from the `next` or `previous` link of the page before.",
    "limit": "Entries per page, 1-100 (default 20; larger asks get 100).",
    "from": "First day of the statement (YYYY-MM-DD, the bank's time zone).",
    "to": "Last day of the statement (YYYY-MM-DD), not before `from`; at most 366 days.",
    "format": "`json` (default) or `csv` for a text/csv download.",
}

TOKEN_PAIR_SCHEMA = {
    "type": "object",
    "description": "A token pair.",
    "required": ["access", "refresh"],
    "properties": {
        "access": {
            "type": "string",
            "description": "Access token (JWT) for the Authorization header: "
            "`Bearer <access>`. Lives 5 minutes.",
            "example": EXAMPLE_TOKEN,
        },
        "refresh": {
            "type": "string",
            "description": "Refresh token (JWT): trade it at /api/v1/auth/token/refresh/ for a "
            "new pair. Lives 1 day and works once.",
            "example": EXAMPLE_TOKEN,
        },
    },
}

OPERATIONS: dict[tuple[str, str], OperationDoc] = {
    ("POST", "/api/v1/auth/register/"): OperationDoc(
        description="Creates a customer. The password must pass the password rules (at least "
        "10 characters, not too common, not all digits, not like the username). A username "
        "that is taken is a validation error on `username`.",
        request_example={
            "username": "alice",
            "password": "blue-otter-7431",
            "email": "alice@example.com",
            "first_name": "Alice",
            "last_name": "Lee",
        },
    ),
    ("POST", "/api/v1/auth/token/"): OperationDoc(
        summary="Sign in with username and password",
        description="Returns an access token (5 minutes) and a refresh token (1 day). Failed "
        "sign-ins are limited per IP and per username.",
        problems={401: ["authentication_failed"]},
        request_example={"username": "demo", "password": "demo-pass-2468"},
        ok_schema=TOKEN_PAIR_SCHEMA,
    ),
    ("POST", "/api/v1/auth/token/refresh/"): OperationDoc(
        summary="Trade a refresh token for a new token pair",
        description="The refresh token works once: the answer carries a new one, and the old "
        "one is refused from then on.",
        problems={401: ["authentication_failed"]},
        request_example={"refresh": EXAMPLE_TOKEN},
        ok_schema=TOKEN_PAIR_SCHEMA,
    ),
    ("POST", "/api/v1/auth/logout/"): OperationDoc(
        description="Revokes the refresh token. It needs no access token: holding the refresh "
        "token is the proof, so it works after the access token has expired.",
        problems={401: ["authentication_failed"]},
        request_example={"refresh": EXAMPLE_TOKEN},
    ),
    ("POST", "/api/v1/auth/password/change/"): OperationDoc(
        description="Every refresh token of the customer stops working, and so do access "
        "tokens issued before the change.",
        request_example={"old_password": "blue-otter-7431", "new_password": "green-heron-5820"},
    ),
    ("POST", "/api/v1/auth/password/reset/"): OperationDoc(
        description="Sends a reset link if an account has this address. The answer is the same "
        "either way, so it tells no one which addresses have accounts.",
        request_example={"email": "alice@example.com"},
    ),
    ("POST", "/api/v1/auth/password/reset/confirm/"): OperationDoc(
        description="Takes the `uid` and `token` of the emailed link. A link works once, and "
        "not after it expires.",
        request_example={
            "uid": "MTI",
            "token": "cf3k2p-5b1e0c4d2a7f9e8b6c3d1a0f",
            "new_password": "green-heron-5820",
        },
    ),
    ("POST", "/api/v1/auth/card/"): OperationDoc(
        request_example={"card_number": DEMO_CARD, "pin": DEMO_PIN},
    ),
    ("PATCH", "/api/v1/users/me/"): OperationDoc(
        description="Changes your email and name; any other field is refused.",
        request_example={"first_name": "Alice", "last_name": "Lee"},
    ),
    ("POST", "/api/v1/accounts/"): OperationDoc(
        request_example={"kind": "savings", "currency": "USD"},
    ),
    ("POST", "/api/v1/accounts/{number}/deposit/"): OperationDoc(
        # Money in needs no funds and has no daily limit.
        only_problems={422: ["idempotency_key_reused"]},
        request_example={"amount": "250.00", "description": "Paycheck"},
    ),
    ("POST", "/api/v1/accounts/{number}/withdraw/"): OperationDoc(
        request_example={"amount": "40.00", "description": "Cash"},
    ),
    ("GET", "/api/v1/accounts/{number}/statement/"): OperationDoc(
        description="Whole days in the bank's time zone, at most 366. JSON by default; "
        "`format=csv` downloads the entries as text/csv (a header row, oldest first).",
    ),
    ("POST", "/api/v1/accounts/{number}/holds/"): OperationDoc(
        request_example={"amount": "40.00", "description": "Cash", "expires_in": 120},
    ),
    ("POST", "/api/v1/holds/{id}/capture/"): OperationDoc(request_example={"amount": "40.00"}),
    ("POST", "/api/v1/holds/{id}/void/"): OperationDoc(
        request_example={"reason": "dispense_failed"}
    ),
    ("POST", "/api/v1/accounts/{number}/cards/"): OperationDoc(
        request_example={"pin": "8264"},
    ),
    ("POST", "/api/v1/transfers/"): OperationDoc(
        # The source account is named in the body: not yours (or no such account) is 404.
        problems={404: ["not_found"]},
        request_example={
            "from_account": DEMO_CHECKING,
            "to_account": DEMO_SAVINGS,
            "amount": "10.50",
            "description": "Savings",
        },
    ),
}
