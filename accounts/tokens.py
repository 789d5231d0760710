"""The ATM session token: what a card + PIN sign-in buys.

A token type of its own ("atm"), so simplejwt never takes it for a customer's access token or a
refresh token, and the reverse: each class refuses a token whose `token_type` claim is not its
own. It has no refresh token, lives two minutes, and names the one account it may act on.
"""

from datetime import timedelta

from users.tokens import AccessToken

ATM_TOKEN_TYPE = "atm"  # noqa: S105 - a claim value, not a password
ACCOUNT_CLAIM = "account_number"
CARD_CLAIM = "card_id"


class ATMAccessToken(AccessToken):
    token_type = ATM_TOKEN_TYPE
    lifetime = timedelta(minutes=2)

    @classmethod
    def for_card(cls, card) -> "ATMAccessToken":
        token = cls.for_user(card.account.owner)
        token[ACCOUNT_CLAIM] = card.account.number
        token[CARD_CLAIM] = card.pk
        return token
