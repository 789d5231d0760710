"""Who an API request is: simplejwt's bearer tokens, with the user checked where it costs least.

Every request's token is verified first (signature, type, expiry, claims: users/tokens.py,
accounts/tokens.py). Then simplejwt loads the user it names and refuses the token if that user
no longer exists, is inactive, or changed their password since the token was issued (the token
carries a hash of the password hash, CHECK_REVOKE_TOKEN): one query on every request.

The hottest actions skip that query when the ledger runs in PostgreSQL (LEDGER_ENGINE = "sql"):
a money-moving POST (deposit, withdraw, transfer) and the balance read, the actions a view lists
in `user_checked_in_database`, with a customer's access token. Their one statement checks the
same three things itself (SQL function `ledger_user_is_valid`: the posting function inside the
movement's transaction, the balance read in its query), from `user_claims(actor)`, and a refusal
becomes `problems.UserNoLongerValid`, answered with simplejwt's own refusal. Such a request's
user is a `TokenCarriedUser`, what the token says and nothing loaded; what runs before that
statement (permissions, the per-user throttle, audit, metrics, logs) needs only its id, and the
statement checks the user before anything else, an idempotent replay included. ATM session
tokens and every other request keep the full path.
"""

from django.conf import settings
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed
from rest_framework_simplejwt.settings import api_settings

from users.tokens import AccessToken


class FieldNotCarried(RuntimeError):
    """Code read a user field a token does not carry. A RuntimeError, not an AttributeError, so
    `getattr(user, name, default)` and `hasattr` cannot turn it into a silent default."""


class TokenCarriedUser:
    """The customer a money-moving request acts for, as its access token names them.

    Carries the id and the revocation claim; it is authenticated, assumed active (the posting
    checks that, and the claim, before it moves anything) and never staff. Anything else raises
    `FieldNotCarried`: code that needs more must not get a stale or guessed answer.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, token: AccessToken):
        self.pk = self.id = int(token[api_settings.USER_ID_CLAIM])
        self.revocation_claim: str = token[api_settings.REVOKE_TOKEN_CLAIM]
        self._token = token

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # protocol probes (copy, pickle, templates) as usual
        raise FieldNotCarried(
            f"A token-carried user (id {self.__dict__.get('pk')}) has no {name!r}: only its id "
            "and revocation claim are known until the posting checks it "
            "(atm_project/authentication.py)."
        )

    def __str__(self) -> str:
        return f"user {self.pk} (from the token)"

    __repr__ = __str__


def user_claims(actor) -> tuple[int, str | None]:
    """What the database is to check about the user (the posting, the balance read): (id,
    revocation claim) for a token-carried user; (id, None) for a user the request loaded and
    checked already."""
    if isinstance(actor, TokenCarriedUser):
        return actor.pk, actor.revocation_claim
    return actor.pk, None


def refusal_in_simplejwts_words(request) -> AuthenticationFailed | None:
    """simplejwt's own refusal of the request's token, for a posting that found its user no
    longer valid: the answer is then the one authentication gives anywhere else, word for word
    (the function says only that the check failed). One query, on this rare path; None if the
    user is valid again by now."""
    user = getattr(request, "user", None)
    if not isinstance(user, TokenCarriedUser):
        return None
    try:
        JWTAuthentication().get_user(user._token)
    except AuthenticationFailed as refusal:
        return refusal
    return None


class DeferringJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, deferring the user check to the posting where it can."""

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        if _database_checks_the_user(request, token):
            return TokenCarriedUser(token), token
        return self.get_user(token), token


def _database_checks_the_user(request, token) -> bool:
    view = (request.parser_context or {}).get("view")
    return (
        settings.LEDGER_ENGINE == "sql"
        and getattr(view, "action", None) in getattr(view, "user_checked_in_database", ())
        # A customer's access token only: an ATM session's (a subclass) keeps the full path.
        and type(token) is AccessToken
        # The posting checks exactly what simplejwt would: the user exists and is active, and
        # the token's claim is the current password's. A token without the claim is refused by
        # simplejwt, on the full path.
        and api_settings.CHECK_USER_IS_ACTIVE
        and api_settings.CHECK_REVOKE_TOKEN
        and isinstance(token.get(api_settings.REVOKE_TOKEN_CLAIM), str)
    )
