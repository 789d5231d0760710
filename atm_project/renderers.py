from rest_framework.renderers import JSONRenderer


class ProblemJSONRenderer(JSONRenderer):
    """JSON under RFC 9457's media type, chosen when a client's Accept names only that."""

    media_type = "application/problem+json"
