"""WSGI: a request body sent with `Transfer-Encoding: chunked` is read like any other.

Django reads a body only up to CONTENT_LENGTH, and a chunked request has none, so without this
its body would be read as empty and silently dropped (a chunked `POST /accounts/` asking for EUR
opened a USD account). gunicorn decodes the chunks in `wsgi.input`; this reads them, at most one
byte past the body limit, and hands Django the body with its length. A body over the limit keeps
a length over the limit, so the usual 413 answers it.
"""

import io

from django.conf import settings


class ChunkedBodyMiddleware:
    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if _is_chunked_without_length(environ):
            body = environ["wsgi.input"].read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


def _is_chunked_without_length(environ) -> bool:
    encoding = environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return "chunked" in encoding and not environ.get("CONTENT_LENGTH")
