"""Who is asking, for the audit trail, without passing the request through the services.

`AuditContextMiddleware` stores the client's IP address and user agent in a context variable for
the duration of a request; `record_event` reads them (and the request id) from here.
"""

import contextvars
import ipaddress
from dataclasses import dataclass

from atm_project.middleware import current_request_id

USER_AGENT_MAX_LENGTH = 255


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    user_agent: str = ""


_NO_REQUEST = RequestContext()
_context: contextvars.ContextVar[RequestContext | None] = contextvars.ContextVar(
    "audit_request_context", default=None
)


def normalize_ip(raw: str | None) -> str | None:
    """One spelling per address, so the hash computed now matches the value read back later."""
    try:
        address = ipaddress.ip_address((raw or "").strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return str(address)


def printable(text: str) -> str:
    # PostgreSQL text cannot hold NUL, and control characters have no place in a log.
    return "".join(ch for ch in text if ch.isprintable())


def current_context() -> RequestContext:
    return _context.get() or _NO_REQUEST


def current_request_id_or_blank() -> str:
    request_id = current_request_id()
    return "" if request_id == "-" else request_id


@dataclass(frozen=True)
class Origin:
    """Where an audit event comes from, as it is stored and keyed."""

    ip: str | None
    user_agent: str
    request_id: str


def current_origin() -> Origin:
    """The origin of an event recorded now: by record_event, or by the SQL engine's posting."""
    context = current_context()
    return Origin(
        ip=context.ip,
        user_agent=context.user_agent[:USER_AGENT_MAX_LENGTH],
        request_id=current_request_id_or_blank(),
    )


class AuditContextMiddleware:
    """Keeps the caller's address and user agent for the audit events the request records.

    REMOTE_ADDR is the address of whoever opened the connection; behind a reverse proxy that is
    the proxy, and the proxy's trusted header must be mapped onto REMOTE_ADDR (gunicorn's
    forwarded_allow_ips does this) rather than trusting any client-sent header here.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _context.set(
            RequestContext(
                ip=normalize_ip(request.META.get("REMOTE_ADDR")),
                user_agent=printable(request.headers.get("User-Agent", ""))[:USER_AGENT_MAX_LENGTH],
            )
        )
        try:
            return self.get_response(request)
        finally:
            _context.reset(token)
