"""GET /api/v1/: where a client starts, a map of the API's resources instead of a 404."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

# Link name -> URL name; each resolves to an absolute URL on the host the client used.
LINKS = {
    "register": "register",
    "token": "token",
    "token_refresh": "token-refresh",
    "card_sign_in": "card-sign-in",
    "me": "me",
    "accounts": "account-list",
    "transfers": "transfer-list",
    "transactions": "transaction-list",
    "docs": "docs",
    "schema": "schema",
}


class APIRootView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        operation_id="api_root",
        summary="Links to the API's resources",
        description="No authentication. Each link is an absolute URL.",
        responses={
            200: inline_serializer("APIRoot", {name: serializers.URLField() for name in LINKS})
        },
    )
    def get(self, request):
        return Response({name: reverse(url, request=request) for name, url in LINKS.items()})
