"""Writes to users: registration, sign-out and the password lifecycle."""

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from atm_project.problems import InvalidRequest
from audit.services import record_event

from . import sessions
from .mail import send_in_background

User = get_user_model()

USERNAME_TAKEN = "This username is taken."


def register_user(*, username: str, password: str, email: str = "", **names) -> User:
    # What create_user does, with the slow password hash done before the transaction opens.
    user = User(
        username=User.normalize_username(username),
        email=User.objects.normalize_email(email),
        **names,
    )
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
            record_event(
                action="auth.registered", actor=user, target=user, data={"username": user.username}
            )
    except IntegrityError as error:
        # Another registration of the same name committed between the serializer's uniqueness
        # check and this insert: the unique index decides, and the loser is told as usual.
        raise InvalidRequest("username", USERNAME_TAKEN) from error
    return user


def revoke_refresh_token(*, refresh: str) -> None:
    """Sign out: the refresh token, and the session it belongs to, can never mint tokens again."""
    try:
        sessions.end_session(refresh)
    except TokenError as error:
        raise InvalidToken(str(error)) from error


class PasswordRejected(InvalidRequest):
    """The new password fails Django's validators: every message, under the field's name."""

    def __init__(self, field: str, messages: list[str]):
        super().__init__(field, " ".join(messages))
        self.errors = {field: list(messages)}


INVALID_RESET_LINK = "The reset link is invalid or has expired."


def revoke_all_refresh_tokens(*, user: User) -> int:
    """Blacklist every refresh token of the user that could still mint an access token."""
    live = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


def _set_new_password(*, user: User, password: str, audit_action: str) -> None:
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise PasswordRejected("new_password", error.messages) from error
    with transaction.atomic():
        user.set_password(password)
        user.save(update_fields=["password"])
        # Whoever held a session under the old password loses it. Access tokens die too: they
        # carry a hash of the password hash (SIMPLE_JWT CHECK_REVOKE_TOKEN).
        revoke_all_refresh_tokens(user=user)
        sessions.end_all_sessions(user)
        record_event(action=audit_action, actor=user, target=user)


def change_password(*, user: User, old_password: str, new_password: str) -> None:
    if not user.check_password(old_password):
        raise InvalidRequest("old_password", "The current password is wrong.")
    _set_new_password(user=user, password=new_password, audit_action="auth.password_changed")


def _email_changed_notice(user: User, old_email: str) -> EmailMessage:
    body = (
        f"Hello {user.get_username()},\n\n"
        f"The email address of your account was changed from {old_email} to {user.email}.\n\n"
        "If you did not do this, someone else may have access to your account: contact the bank "
        "at once. Password reset links now go to the new address.\n"
    )
    return EmailMessage(subject="Your email address was changed", body=body, to=[old_email])


def update_profile(*, user: User, changes: dict, current_password: str | None) -> User:
    """Names change freely; the email only with the current password, because it is where
    password resets go: a stolen access token must not be enough to take the account over.

    The change is audited and a notice goes to the old address (after the commit, off the
    request path).
    """
    new_email = changes.get("email")
    email_changes = new_email is not None and new_email != user.email
    if email_changes:
        if not current_password:
            raise InvalidRequest(
                "current_password", "Give your current password to change the email."
            )
        if not user.check_password(current_password):
            raise AuthenticationFailed("The current password is wrong.")
    old_email = user.email
    with transaction.atomic():
        for field, value in changes.items():
            setattr(user, field, value)
        if changes:
            user.save(update_fields=list(changes))
        if email_changes:
            record_event(
                action="auth.email_changed",
                actor=user,
                target=user,
                data={"old_email": old_email, "new_email": user.email},
            )
            if old_email:
                notice = _email_changed_notice(user, old_email)
                transaction.on_commit(lambda: send_in_background(notice))
    return user


def _reset_candidates(email: str) -> list[User]:
    """Like Django's PasswordResetForm: active users with this address and a usable password."""
    users = User.objects.filter(email__iexact=email, is_active=True)
    return [user for user in users if user.has_usable_password()]


def _reset_message(user: User) -> EmailMessage:
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    # In the fragment, which browsers never send: the token stays out of every access log.
    link = f"{settings.PASSWORD_RESET_URL}#{urlencode({'uid': uid, 'token': token})}"
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    body = (
        f"Hello {user.get_username()},\n\n"
        "Someone asked to reset the password of your account. If it was you, open this link "
        f"within {minutes} minutes and choose a new password:\n\n{link}\n\n"
        "If it was not you, ignore this message: your password stays as it is.\n"
    )
    return EmailMessage(subject="Reset your password", body=body, to=[user.email])


def request_password_reset(*, email: str) -> None:
    """Send a reset link to the accounts with this address, if any; say nothing either way.

    The caller answers 202 in both cases. The messages are built here and sent by a background
    thread after the commit, so an address with an account costs the request no more time than
    one without (see users/mail.py).
    """
    for user in _reset_candidates(email):
        message = _reset_message(user)
        transaction.on_commit(lambda message=message: send_in_background(message))


def _user_from_uid(uid: str) -> User | None:
    try:
        pk = force_str(urlsafe_base64_decode(uid))
        return User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist, DjangoValidationError):
        return None


def confirm_password_reset(*, uid: str, token: str, new_password: str) -> None:
    """Set the new password if the link is genuine and unused; revoke every session."""
    user = _user_from_uid(uid)
    # The token hashes the current password, so a used link stops working by itself.
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidRequest("token", INVALID_RESET_LINK)
    _set_new_password(user=user, password=new_password, audit_action="auth.password_reset")
