from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.generics import RetrieveUpdateAPIView
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.views import TokenObtainPairView

from atm_project.schema import problem
from audit.signin import record_login
from security.throttling import (
    TOKEN_RATE_LIMITS,
    CurrentPasswordRateLimit,
    PasswordChangeRateLimit,
    PasswordResetConfirmRateLimit,
    PasswordResetRateLimit,
    RegisterRateLimit,
)

from .. import services
from .serializers import (
    LogoutSerializer,
    MeSerializer,
    PasswordChangeSerializer,
    PasswordResetAcceptedSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RegisteredUserSerializer,
    RegisterSerializer,
)

RESET_ACCEPTED = "If an account has this email address, a reset link is on its way."


class TokenView(TokenObtainPairView):
    """simplejwt's sign-in with its rate limits (docs/api.md): per IP and per username."""

    throttle_classes = TOKEN_RATE_LIMITS

    def post(self, request, *args, **kwargs):
        # A wrong password raises before this returns; it is recorded from user_login_failed.
        response = super().post(request, *args, **kwargs)
        record_login(username=request.data.get("username"))
        return response


class RegisterView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [RegisterRateLimit]

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

    def get_authenticate_header(self, request):
        # Without an authenticator DRF would turn a bad refresh token's 401 into a 403.
        return 'Bearer realm="api"'

    @extend_schema(summary="Sign out", request=LogoutSerializer, responses={204: None})
    def post(self, request):
        params = LogoutSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.revoke_refresh_token(refresh=params.validated_data["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(RetrieveUpdateAPIView):
    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "head", "options"]
    # Checking current_password makes this an oracle for a stolen access token: limited.
    throttle_classes = [CurrentPasswordRateLimit]

    def get_object(self):
        return self.request.user


class PasswordChangeView(APIView):
    throttle_classes = [PasswordChangeRateLimit]

    @extend_schema(
        summary="Change your password",
        description="Every refresh token of the user stops working, and so do access tokens "
        "issued before the change.",
        request=PasswordChangeSerializer,
        responses={204: None},
    )
    def post(self, request):
        params = PasswordChangeSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.change_password(user=request.user, **params.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(APIView):
    """The same answer whether or not the address has an account: no enumeration."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PasswordResetRateLimit]

    @extend_schema(
        summary="Ask for a password reset link by email",
        request=PasswordResetSerializer,
        responses={202: PasswordResetAcceptedSerializer},
    )
    def post(self, request):
        params = PasswordResetSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.request_password_reset(email=params.validated_data["email"])
        return Response({"detail": RESET_ACCEPTED}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [PasswordResetConfirmRateLimit]

    @extend_schema(
        summary="Set a new password with the uid and token of a reset link",
        request=PasswordResetConfirmSerializer,
        responses={
            204: None,
            400: problem(
                "validation_error: invalid or expired link (errors.token), or a new "
                "password the validators refuse (errors.new_password)"
            ),
        },
    )
    def post(self, request):
        params = PasswordResetConfirmSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        services.confirm_password_reset(**params.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
