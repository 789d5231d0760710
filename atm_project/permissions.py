"""Who may call what: customers everywhere by default, ATM sessions only where a view opts in.

`IsCustomer` is REST_FRAMEWORK's DEFAULT_PERMISSION_CLASSES, so a new view is closed to ATM
tokens unless it says otherwise. A view opts in with `permission_classes =
[CustomerOrATMSession]` and names the actions an ATM may use in `atm_actions`; the account an
action acts on must then be the card's account: the URL's `number`, or the body field named by
`atm_account_field` (the source of a transfer). Views that list things (transactions) also narrow
what they show with `atm_session(request)`.
"""

from dataclasses import dataclass

from rest_framework.permissions import BasePermission

from accounts.models import Card
from accounts.tokens import ACCOUNT_CLAIM, CARD_CLAIM, ATMAccessToken


@dataclass(frozen=True)
class ATMSession:
    account_number: str
    card_id: int


def atm_session(request) -> ATMSession | None:
    """The ATM session a request is signed in with, or None for a customer (or no) token."""
    token = getattr(request, "auth", None)
    if not isinstance(token, ATMAccessToken):
        return None
    return ATMSession(account_number=token[ACCOUNT_CLAIM], card_id=token[CARD_CLAIM])


def _is_authenticated(request) -> bool:
    return bool(request.user and request.user.is_authenticated)


def _card_still_active(session: ATMSession) -> bool:
    # A card blocked by staff after sign-in loses its session at once, not 2 minutes later.
    return Card.objects.filter(pk=session.card_id, status=Card.Status.ACTIVE).exists()


class IsCustomer(BasePermission):
    """Signed in with a customer's token: an ATM session token is refused (403)."""

    message = "An ATM session cannot use this endpoint."

    def has_permission(self, request, view) -> bool:
        return _is_authenticated(request) and atm_session(request) is None


class CustomerOrATMSession(BasePermission):
    """A customer, or an ATM session acting on its own card's account through an allowed action."""

    message = "An ATM session can only use the ATM's services on its own card's account."

    def has_permission(self, request, view) -> bool:
        if not _is_authenticated(request):
            return False
        session = atm_session(request)
        if session is None:
            return True
        if getattr(view, "action", None) not in getattr(view, "atm_actions", ()):
            return False
        if not self._acts_on(request, view, session.account_number):
            return False
        return _card_still_active(session)

    @staticmethod
    def _acts_on(request, view, account_number: str) -> bool:
        number = view.kwargs.get("number")
        if number is not None and number != account_number:
            return False
        field = getattr(view, "atm_account_field", None)
        if field is not None:
            data = request.data
            value = data.get(field) if hasattr(data, "get") else None
            # A missing field fails validation later; any other account is not this session's.
            if value is not None and str(value) != account_number:
                return False
        return True


class IsATMSession(BasePermission):
    """Signed in with an ATM session token whose card is still active; a customer's is refused
    (extending the session, the machine's own devices such as its dispenser)."""

    message = "Only an ATM session can use this endpoint."

    def has_permission(self, request, view) -> bool:
        if not _is_authenticated(request):
            return False
        session = atm_session(request)
        return session is not None and _card_still_active(session)
