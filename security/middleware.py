"""Response headers and request limits that Django's SecurityMiddleware does not cover.

Django's SecurityMiddleware (listed above this one) already sends nosniff, Referrer-Policy and
Cross-Origin-Opener-Policy on every response, including the ones this middleware answers itself.
"""

from django.conf import settings

from atm_project.exception_handlers import problem_json_response

# The web ATM and the landing page ship only static JS and CSS from /static/: nothing inline,
# nothing from elsewhere.
ATM_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# A JSON document is never a page: nothing in it may load, run or be framed (OWASP REST sheet).
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
JSON_TYPES = ("application/json", "application/problem+json")


def _content_length(request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class SecurityHeadersMiddleware:
    """Refuses oversized API bodies with 413 and sets X-Frame-Options, CSP and Cache-Control.

    DRF reads JSON bodies from the stream, which bypasses DATA_UPLOAD_MAX_MEMORY_SIZE (Django
    checks it only for `request.body` and forms), so the cap is enforced here on Content-Length
    before anything reads the body. A body sent without a Content-Length is read by Django as
    empty, so it cannot get round the cap.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self._refuse_oversized(request) or self.get_response(request)
        # The clickjacking middleware sits below; responses answered here still need it.
        response.setdefault("X-Frame-Options", "DENY")
        policy = self._content_security_policy(request, response)
        if policy:
            response.setdefault("Content-Security-Policy", policy)
        if request.path.startswith("/api/v1/"):
            # Balances and statements must not linger in a shared or browser cache.
            response.setdefault("Cache-Control", "no-store")
        return response

    @staticmethod
    def _refuse_oversized(request):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if not request.path.startswith("/api/") or limit is None:
            return None
        if _content_length(request) <= limit:
            return None
        return problem_json_response(
            status_code=413,
            code="payload_too_large",
            title="Payload too large",
            detail=f"Request bodies are limited to {limit} bytes.",
        )

    @staticmethod
    def _content_security_policy(request, response) -> str | None:
        if request.path in ("/", "/atm") or request.path.startswith("/atm/"):
            return ATM_CSP
        if response.get("Content-Type", "").split(";")[0].strip() in JSON_TYPES:
            return API_CSP
        return None
