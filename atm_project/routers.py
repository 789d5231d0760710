from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """Every route answers with and without a trailing slash, without a redirect (which would
    lose a POST body)."""

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
