from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import services
from .serializers import (
    LogoutSerializer,
    MeSerializer,
    RegisteredUserSerializer,
    RegisterSerializer,
)


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(
        summary="Register a customer",
        request=RegisterSerializer,
        responses={201: RegisteredUserSerializer},
    )
    def post(self, request):
        params = RegisterSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        user = services.register_user(**params.validated_data)
        return Response(RegisteredUserSerializer(user).data, status=status.HTTP_201_CREATED)


class LogoutView(APIView):
    """Possession of the refresh token is the proof: it works even once the access has expired."""

    permission_classes = [AllowAny]
    authentication_classes = []

    @extend_schema(summary="Sign out", request=LogoutSerializer, responses={204: None})
    def post(self, request):
        params = LogoutSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.revoke_refresh_token(refresh=params.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(RetrieveUpdateAPIView):
    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user
