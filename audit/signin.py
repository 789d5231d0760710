"""Sign-ins and failed sign-ins in the audit trail.

A failed attempt is recorded from Django's `user_login_failed` signal, which `authenticate()`
sends for every credential check (the API's token endpoint and the admin's login page alike),
with the password already blanked out; only the username tried is kept. A successful sign-in
sends no signal through simplejwt, so the token view calls `record_login` itself; the admin's
session login is recorded from `user_logged_in`.
"""

from django.contrib.auth import get_user_model

from .services import record_event

USERNAME_MAX_LENGTH = 150


def _username(value) -> str:
    return str(value or "")[:USERNAME_MAX_LENGTH]


def record_login(*, username, via: str = "api") -> None:
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: _username(username)}).first()
    record_event(action="auth.login", actor=user, target=user, data={"via": via})


def on_login_failed(sender, credentials, request=None, **kwargs) -> None:
    User = get_user_model()
    record_event(
        action="auth.login_failed",
        data={"username": _username(credentials.get(User.USERNAME_FIELD))},
    )


def on_session_login(sender, request, user, **kwargs) -> None:
    record_event(action="auth.login", actor=user, target=user, data={"via": "admin"})
