"""Request IDs (every response carries X-Request-ID, and every log line names it), and
`browser_only`, which keeps the browser's middleware off the JSON API."""

import contextvars
import logging
import re
import uuid

_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")


def current_request_id() -> str:
    return _current_request_id.get()


class RequestIDMiddleware:
    """Keeps the client's X-Request-ID when it is sane, else makes one, and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        offered = request.headers.get("X-Request-ID", "")
        request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        request.request_id = request_id
        token = _current_request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _current_request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class RequestIDLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # gunicorn's access lines bring the id along (from the response's X-Request-ID).
        if getattr(record, "request_id", None):
            return True
        # django.request logs after the middleware has returned, but hands over the request.
        request = getattr(record, "request", None)
        record.request_id = getattr(request, "request_id", None) or current_request_id()
        return True


API_PATH_PREFIX = "/api/"


def is_api_request(request) -> bool:
    # path_info, not path: the URL conf routes on it, whatever prefix the app is mounted under.
    return request.path_info.startswith(API_PATH_PREFIX)


def browser_only(middleware_class: type) -> type:
    """`middleware_class`, run on every request but the JSON API's, which goes straight on to the
    next layer, skipping its process_view, process_exception and process_template_response too.

    The API authenticates with bearer tokens and never reads a cookie, so a session, a session
    user, a verified OTP device or a flash message mean nothing there and cost time on every call
    (docs/design.md "What /api/ skips"). A subclass, so Django's checks that look for the original
    (the admin needs sessions, authentication and messages) still find it. Sync only: under ASGI
    Django adapts around it, and a sync `__call__` is then all it needs.
    """

    class BrowserOnly(middleware_class):
        sync_capable = True
        async_capable = False

        def __init__(self, get_response):
            super().__init__(get_response)
            # Our own reference: not every middleware keeps its next layer under the same name.
            self._next_layer = get_response

        def __call__(self, request):
            if is_api_request(request):
                return self._next_layer(request)
            return super().__call__(request)

        # Django registers the hooks a middleware instance has, so only those it really defines.
        if hasattr(middleware_class, "process_view"):

            def process_view(self, request, view_func, view_args, view_kwargs):
                if is_api_request(request):
                    return None
                return super().process_view(request, view_func, view_args, view_kwargs)

        if hasattr(middleware_class, "process_exception"):

            def process_exception(self, request, exception):
                if is_api_request(request):
                    return None
                return super().process_exception(request, exception)

        if hasattr(middleware_class, "process_template_response"):

            def process_template_response(self, request, response):
                if is_api_request(request):
                    return response
                return super().process_template_response(request, response)

    BrowserOnly.__name__ = BrowserOnly.__qualname__ = f"BrowserOnly{middleware_class.__name__}"
    return BrowserOnly
