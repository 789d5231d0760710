"""The ATM session token: what a card + PIN sign-in buys.

A token type of its own ("atm"), so simplejwt never takes it for a customer's access token or a
refresh token, and the reverse: each class refuses a token whose `token_type` claim is not its
own. It has no refresh token, lives two minutes, and names the one account it may act on.

An active customer extends the session with a fresh token (`extended`), which carries the time
of the card sign-in along, so no chain of extensions outlives `ATM_SESSION_MAX_SECONDS`.
"""

from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt.utils import aware_utcnow, datetime_to_epoch

from users.tokens import AccessToken

ATM_TOKEN_TYPE = "atm"  # noqa: S105 - a claim value, not a password
ACCOUNT_CLAIM = "account_number"
CARD_CLAIM = "card_id"
SESSION_START_CLAIM = "session_started_at"


class ATMSessionTooOld(Exception):
    """The session began `ATM_SESSION_MAX_SECONDS` ago or more: the customer signs in again."""


class ATMAccessToken(AccessToken):
    token_type = ATM_TOKEN_TYPE
    lifetime = timedelta(minutes=2)

    @classmethod
    def for_card(cls, card) -> "ATMAccessToken":
        return cls._for_session(
            owner=card.account.owner,
            account_number=card.account.number,
            card_id=card.pk,
            session_started_at=datetime_to_epoch(aware_utcnow()),
        )

    @classmethod
    def _for_session(
        cls, *, owner, account_number: str, card_id: int, session_started_at: int
    ) -> "ATMAccessToken":
        token = cls.for_user(owner)
        token[ACCOUNT_CLAIM] = account_number
        token[CARD_CLAIM] = card_id
        token[SESSION_START_CLAIM] = session_started_at
        return token

    def session_age_seconds(self) -> int | None:
        """Seconds since the card sign-in; None for a token issued before the claim existed."""
        started = self.get(SESSION_START_CLAIM)
        if not isinstance(started, int):
            return None
        return datetime_to_epoch(aware_utcnow()) - started

    def extended(self, owner) -> "ATMAccessToken":
        """A fresh two-minute token for the same account, card and session.

        `owner` is the user this token authenticated, so the new token carries the current
        password-hash claim (a password change still ends the session). Raises ATMSessionTooOld
        once the session has reached its maximum age.
        """
        age = self.session_age_seconds()
        if age is None or age >= settings.ATM_SESSION_MAX_SECONDS:
            raise ATMSessionTooOld
        return self._for_session(
            owner=owner,
            account_number=self[ACCOUNT_CLAIM],
            card_id=self[CARD_CLAIM],
            session_started_at=self[SESSION_START_CLAIM],
        )
