"""415 for every non-JSON API request body."""

from .exception_handlers import problem_json_response


class JSONBodyMiddleware:
    """Every API request body must be JSON (415 otherwise), even on endpoints that ignore it.

    DRF checks the media type only when a view reads `request.data`, so a POST like `…/close/`
    would otherwise accept any body silently.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_non_json_api_body(request):
            return problem_json_response(
                status_code=415,
                code="unsupported_media_type",
                title="Unsupported media type",
                detail=f'Unsupported media type "{request.content_type}" in request; '
                "send application/json.",
            )
        return self.get_response(request)


def _has_non_json_api_body(request) -> bool:
    if not request.path.startswith("/api/") or request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    has_body = int(request.META.get("CONTENT_LENGTH") or 0) > 0 or (
        "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    )
    return has_body and request.content_type != "application/json"
