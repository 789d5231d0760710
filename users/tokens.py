"""simplejwt's tokens, with every claim the project reads checked for type and range.

A token is only ever minted here, but a signature proves who made it, not that it is sane: a
user id of "abc" or an expiry in the year 10^12 would otherwise reach the database or Python's
datetime and end as a 500. Each such token is refused like any invalid token (401).
"""

from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken as SimpleAccessToken
from rest_framework_simplejwt.tokens import RefreshToken as SimpleRefreshToken
from rest_framework_simplejwt.utils import datetime_from_epoch

# A user's primary key is a 64-bit BigAutoField.
_MAX_USER_ID = 2**63 - 1
_MAX_JTI_LENGTH = 255  # the blacklist's column
# The sign-in session a refresh token belongs to (users.models.SignInSession), kept on rotation.
SESSION_CLAIM = "sid"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_user_id(value) -> bool:
    """simplejwt writes the id as a string of digits; an int is what older tokens carried."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return _is_int(value) and 1 <= value <= _MAX_USER_ID


class CheckedClaimsMixin:
    def verify(self) -> None:
        self._check_expiry_claim()
        if not _is_user_id(self.payload.get(api_settings.USER_ID_CLAIM)):
            raise TokenError("Token names no valid user")
        jti = self.payload.get(api_settings.JTI_CLAIM)
        if not isinstance(jti, str) or not 0 < len(jti) <= _MAX_JTI_LENGTH:
            raise TokenError("Token has no valid id")
        super().verify()

    def _check_expiry_claim(self) -> None:
        exp = self.payload.get("exp")
        if not _is_int(exp):
            raise TokenError("Token has no valid expiry")
        try:
            datetime_from_epoch(exp)
        except (OverflowError, ValueError, OSError) as error:
            raise TokenError("Token has no valid expiry") from error


class AccessToken(CheckedClaimsMixin, SimpleAccessToken):
    pass


class RefreshToken(CheckedClaimsMixin, SimpleRefreshToken):
    access_token_class = AccessToken
    # A token already used (rotated or signed out) is refused; see SpentRefreshToken.
    checks_blacklist = True
    # The session claim names a sign-in session, not the access tokens minted from this token.
    no_copy_claims = (*SimpleRefreshToken.no_copy_claims, SESSION_CLAIM)

    def check_blacklist(self) -> None:
        if self.checks_blacklist:
            super().check_blacklist()


class SpentRefreshToken(RefreshToken):
    """A refresh token read to sign out: genuine and unexpired, used or not, because a sign-out
    with an already rotated token must still end the session its successor belongs to."""

    checks_blacklist = False
