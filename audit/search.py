"""Find the audit events that name an account, a card, a transaction or a user, the way staff
know them: by account number, card's last four digits, (part of a) transaction id, username.

Events name their object by model and primary key (`object_type`, `object_id`, indexed), and
carry numbers in their data (`number`, `account`, `counterparty`, `card` as '•••• 7899'...).
A search term is read as each kind of reference it could be; the matching objects are looked up
first, so the indexed object columns do most of the work.
"""

import re

from django.contrib.auth import get_user_model
from django.db.models import Q

from accounts.models import Account, Card
from transactions.models import Transaction

from .services import mask_card_number

_ACCOUNT_NUMBER = re.compile(r"^\d{6,20}$")
_LAST_FOUR = re.compile(r"^\d{4}$")
# A transaction id or a piece of one: hex digits and dashes, at least 6 characters.
_PARTIAL_UUID = re.compile(r"^[0-9a-f-]{6,36}$")
# Keys under which events store an account number.
_ACCOUNT_KEYS = ("number", "account", "counterparty", "account_number")


def events_naming(term: str) -> Q:
    """A filter for the events that name what `term` may refer to; Q(pk__in=[]) if nothing."""
    term = term.strip()
    found = Q(pk__in=[])
    if not term:
        return found
    if _ACCOUNT_NUMBER.match(term):
        found |= events_naming_account(term)
    if _LAST_FOUR.match(term):
        found |= _naming_card(term)
    if _PARTIAL_UUID.match(term.lower()):
        found |= _naming_transaction(term.lower())
    found |= _naming_user(term)
    return found


def _object(model, pks) -> Q:
    return Q(object_type=model._meta.label_lower, object_id__in=[str(pk) for pk in pks])


def events_naming_account(number: str, account_pk: int | None = None) -> Q:
    """Events whose object is the account, or whose data names its number. `account_pk`, when
    the caller has the account, saves looking it up."""
    if account_pk is None:
        pks = Account.objects.filter(number=number).values_list("pk", flat=True)
    else:
        pks = [account_pk]
    in_data = Q()
    for key in _ACCOUNT_KEYS:
        in_data |= Q(**{f"data__{key}": number})
    return _object(Account, pks) | in_data


def _naming_card(last_four: str) -> Q:
    pks = Card.objects.filter(number__endswith=last_four).values_list("pk", flat=True)
    return _object(Card, pks) | Q(data__card=mask_card_number(last_four))


def _naming_transaction(partial_id: str) -> Q:
    label = Transaction._meta.label_lower
    return (
        Q(object_type=label, object_id__startswith=partial_id)
        | Q(data__reverses__startswith=partial_id)
        | Q(data__transaction_id__startswith=partial_id)
    )


def _naming_user(username: str) -> Q:
    User = get_user_model()
    pks = User.objects.filter(username=username).values_list("pk", flat=True)
    return Q(actor__username=username) | _object(User, pks) | Q(data__username=username)
