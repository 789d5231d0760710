"""Sign-in sessions: refresh tokens that are used at most once, and chains that end.

A sign-in starts a `SignInSession`; each refresh token carries its id. Rotating a refresh token
and signing out both lock the session row, in one transaction each:

- rotation checks the session is neither ended nor past `SESSION_MAX_AGE`, then claims the
  presented token by inserting its blacklist row (the blacklist's unique key lets exactly one of
  any number of concurrent refreshes in; the others get 401), then mints a successor that
  expires no later than the session;
- sign-out ends the session under the same lock, so a refresh racing it either finished first
  (and its successor dies with the session) or sees the session ended (401).
"""

import uuid
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from audit.services import record_event

from .models import SignInSession
from .tokens import SESSION_CLAIM, RefreshToken, SpentRefreshToken

User = get_user_model()


def start_session(user) -> RefreshToken:
    """The refresh token of a new sign-in."""
    session = SignInSession.objects.create(user=user)
    token = RefreshToken.for_user(user)
    token[SESSION_CLAIM] = str(session.pk)
    return _outstanding(token)


def rotate(refresh: str) -> dict[str, str]:
    """A fresh access token and the refresh token's one successor; TokenError (401) otherwise."""
    token = RefreshToken(refresh)
    with transaction.atomic():
        # The session first, as sign-out does: one lock order, no deadlock between the two.
        session = _locked_live_session(token)
        _claim(token)
        user = User.objects.filter(pk=session.user_id).first()
        if not (user and jwt_settings.USER_AUTHENTICATION_RULE(user)):
            raise TokenError("No active account found for the given token")
        access = str(token.access_token)
        successor = _successor(token, session)
    return {"access": access, "refresh": str(successor)}


def end_session(refresh: str) -> None:
    """Sign out: the session of this refresh token ends, and so does every token of it.

    A token already used (by a racing or earlier refresh) still ends its session, then is
    refused (401), as the contract asks of a token that no longer works.
    """
    token = SpentRefreshToken(refresh)
    with transaction.atomic():
        session = _locked_session(token)
        if session.ended_at is None:
            session.ended_at = timezone.now()
            session.save(update_fields=["ended_at"])
            record_event(action="auth.logout", actor=session.user, target=session.user)
        newly_revoked = _revoke(token)
    if not newly_revoked:
        raise TokenError("Token is blacklisted")


def end_all_sessions(user) -> int:
    """Every session of the user ends (a password change or reset)."""
    return SignInSession.objects.filter(user=user, ended_at__isnull=True).update(
        ended_at=timezone.now()
    )


def _outstanding(token: RefreshToken) -> RefreshToken:
    token.outstand()
    return token


def _claim(token: RefreshToken) -> None:
    """Mark the token used; only one concurrent caller can (the blacklist row is unique)."""
    outstanding = OutstandingToken.objects.filter(jti=token[jwt_settings.JTI_CLAIM]).first()
    if outstanding is None:
        raise TokenError("Token is not known")
    try:
        with transaction.atomic():
            BlacklistedToken.objects.create(token=outstanding)
    except IntegrityError as error:
        raise TokenError("Token is blacklisted") from error


def _revoke(token: RefreshToken) -> bool:
    """Blacklist the token; False when it already was."""
    _, created = BlacklistedToken.objects.get_or_create(
        token=OutstandingToken.objects.get(jti=token[jwt_settings.JTI_CLAIM])
    )
    return created


def _locked_session(token: RefreshToken) -> SignInSession:
    session = (
        SignInSession.objects.select_for_update()
        .select_related("user")
        .filter(pk=_session_id(token))
        .first()
    )
    if session is None:
        raise TokenError("Token belongs to no session")
    return session


def _locked_live_session(token: RefreshToken) -> SignInSession:
    session = _locked_session(token)
    if session.ended_at is not None:
        raise TokenError("Session has ended")
    if session.expires_at <= timezone.now():
        raise TokenError("Session has expired; sign in again")
    return session


def _session_id(token: RefreshToken) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(token.get(SESSION_CLAIM)))
    except ValueError:
        return None


def _successor(token: RefreshToken, session: SignInSession) -> RefreshToken:
    successor = RefreshToken()
    for claim, value in token.payload.items():
        if claim not in ("exp", "iat", jwt_settings.JTI_CLAIM):
            successor[claim] = value
    # Never outlives its session.
    lifetime_left = session.expires_at - successor.current_time
    if lifetime_left < jwt_settings.REFRESH_TOKEN_LIFETIME:
        successor.set_exp(lifetime=max(lifetime_left, timedelta(0)))
    return _outstanding(successor)
