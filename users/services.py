"""Writes to users: registration and sign-out."""

from django.contrib.auth import get_user_model
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.tokens import RefreshToken

User = get_user_model()


def register_user(*, username: str, password: str, email: str = "", **names) -> User:
    return User.objects.create_user(username=username, password=password, email=email, **names)


def revoke_refresh_token(*, refresh: str) -> None:
    """Blacklist a refresh token so it can never mint another access token."""
    try:
        RefreshToken(refresh).blacklist()
    except TokenError as error:
        raise InvalidToken(str(error)) from error
