"""Cards: issuing them, signing in at the ATM with card + PIN, and unblocking them.

A card's failed-attempt counter is only ever read and written under the card's row lock, in a
transaction of its own that commits even when the sign-in fails: otherwise a failed attempt would
roll back with the failing request, and racing wrong PINs could get more than three tries.
"""

import secrets
from datetime import date
from itertools import pairwise

from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.exceptions import AuthenticationFailed

from atm_project.problems import (
    AccountNotActive,
    AccountNotFound,
    CardBlocked,
    DomainError,
    InvalidRequest,
)
from audit.services import mask_card_number, record_event

from .models import Account, Card
from .numbers import luhn_check_digit
from .services import lock_accounts

CARD_PREFIX = "400000"
CARD_NUMBER_LENGTH = 16
CARD_VALIDITY_YEARS = 4
MAX_PIN_ATTEMPTS = 3
PIN_MIN_LENGTH, PIN_MAX_LENGTH = 4, 6
_MAX_NUMBER_ATTEMPTS = 10
# One message for an unknown card and a wrong PIN, so the answer never tells which numbers exist.
WRONG_CARD_OR_PIN = "Wrong card number or PIN."


class CardNotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class CardNotBlocked(DomainError):
    status, code, title = 409, "card_not_blocked", "Card not blocked"


def pin_problem(pin: str) -> str | None:
    """Why this PIN may not be chosen, or None when it is acceptable."""
    if not (pin.isascii() and pin.isdigit()) or not PIN_MIN_LENGTH <= len(pin) <= PIN_MAX_LENGTH:
        return f"A PIN is {PIN_MIN_LENGTH} to {PIN_MAX_LENGTH} digits."
    if len(set(pin)) == 1:
        return "A PIN may not repeat one digit."
    # Modulo 10, as on a keypad's ring of digits: 7890 and 0987 are runs too.
    steps = {(int(b) - int(a)) % 10 for a, b in pairwise(pin)}
    if steps in ({1}, {9}):
        return "A PIN may not be a run of consecutive digits such as 1234 or 9876."
    return None


def trivially_weak_pins() -> list[str]:
    """Every PIN that pin_problem refuses for being weak: one digit repeated, or a run (modulo
    10, up or down). Listed in the schema, so clients know them before they try."""
    pins = set()
    for length in range(PIN_MIN_LENGTH, PIN_MAX_LENGTH + 1):
        for first in range(10):
            for step in (0, 1, 9):
                pins.add("".join(str((first + step * i) % 10) for i in range(length)))
    return sorted(pins)


def generate_card_number() -> str:
    body_digits = CARD_NUMBER_LENGTH - len(CARD_PREFIX) - 1
    body = CARD_PREFIX + str(secrets.randbelow(10**body_digits)).zfill(body_digits)
    return body + luhn_check_digit(body)


def expiry_date(issued: date) -> date:
    try:
        return issued.replace(year=issued.year + CARD_VALIDITY_YEARS)
    except ValueError:  # issued on 29 February; the anniversary year has none
        return issued.replace(year=issued.year + CARD_VALIDITY_YEARS, day=28)


def issue_card(*, account_number: str, owner, pin: str, card_number: str | None = None) -> Card:
    """Issue a card on one of the owner's active accounts.

    `card_number` fixes the number (the demo data's published card); otherwise a fresh random
    one is drawn and the unique index settles any collision.
    """
    problem = pin_problem(pin)
    if problem is not None:
        raise InvalidRequest("pin", problem)
    pin_hash = make_password(pin)
    with transaction.atomic():
        # The account's lock keeps a concurrent close from slipping in between check and insert.
        account = lock_accounts(numbers=[account_number]).get(account_number)
        if account is None or account.owner_id is None or account.owner_id != owner.pk:
            raise AccountNotFound("No such account.")
        if not account.is_active:
            raise AccountNotActive(f"Account {account_number} is {account.status}.")
        card = _create_card(account=account, pin_hash=pin_hash, card_number=card_number)
        record_event(action="card.issued", actor=owner, target=card, data=_card_data(card))
        return card


def _card_data(card: Card, **extra) -> dict:
    """What the audit trail says about a card: never its full number, never its PIN."""
    return {"card": card.masked_number, "account": card.account.number, **extra}


def _create_card(*, account: Account, pin_hash: str, card_number: str | None) -> Card:
    fields = {
        "account": account,
        "pin_hash": pin_hash,
        "expires_on": expiry_date(timezone.localdate()),
    }
    if card_number is not None:
        return Card.objects.create(number=card_number, **fields)
    for _ in range(_MAX_NUMBER_ATTEMPTS):
        try:
            with transaction.atomic():
                return Card.objects.create(number=generate_card_number(), **fields)
        except IntegrityError:
            continue  # the number was taken
    raise RuntimeError("Could not allocate a free card number")


def sign_in_with_card(*, card_number: str, pin: str) -> Card:
    """The card, when `pin` is its PIN and it may be used; counts and blocks wrong PINs.

    Raises AuthenticationFailed (401) for an unknown card, a wrong PIN or an expired card, and
    CardBlocked (423) for a blocked card, including the one this wrong PIN has just blocked.
    """
    with transaction.atomic(durable=True):
        card = (
            Card.objects.select_for_update(of=("self",))
            .select_related("account__owner")  # the token is made for the owner
            .filter(number=card_number)
            .first()
        )
        refusal = _check_card_under_lock(card, pin)
        _record_card_sign_in(card, card_number, refusal)
    # Raised only now, after the commit: the attempt must count even though the request fails.
    if refusal is not None:
        raise refusal
    return card


def _record_card_sign_in(card: Card | None, card_number: str, refusal: Exception | None) -> None:
    if refusal is None:
        record_event(
            action="auth.card_login", actor=card.account.owner, target=card, data=_card_data(card)
        )
        return
    record_event(
        action="auth.card_login_failed",
        target=card,
        data={"card": mask_card_number(card_number), "refusal": type(refusal).__name__},
    )


def _check_card_under_lock(card: Card | None, pin: str) -> Exception | None:
    if card is None:
        # Hash anyway, so an unknown number costs the same time as a wrong PIN.
        make_password(pin)
        return AuthenticationFailed(WRONG_CARD_OR_PIN)
    if card.is_blocked:
        return CardBlocked("This card is blocked; the bank's staff can unblock it.")
    if not check_password(pin, card.pin_hash):
        return _count_wrong_pin(card)
    if card.failed_attempts:
        card.failed_attempts = 0
        card.save(update_fields=["failed_attempts"])
    # Only after the PIN: without it, an expired card answers exactly like a wrong PIN.
    if card.expires_on < timezone.localdate():
        return AuthenticationFailed("This card has expired.")
    if card.account.status == Account.Status.CLOSED:
        return AccountNotActive("The card's account is closed.")
    if not card.account.owner.is_active:
        # Its token would be refused on every request (JWTAuthentication checks is_active).
        return AuthenticationFailed("The card holder's access is disabled.")
    return None


def _count_wrong_pin(card: Card) -> Exception:
    card.failed_attempts += 1
    if card.failed_attempts >= MAX_PIN_ATTEMPTS:
        card.status = Card.Status.BLOCKED
        card.save(update_fields=["failed_attempts", "status"])
        record_event(
            action="card.blocked",
            target=card,
            data=_card_data(card, reason=f"{MAX_PIN_ATTEMPTS} wrong PINs in a row"),
        )
        return CardBlocked(f"Wrong PIN {MAX_PIN_ATTEMPTS} times: this card is now blocked.")
    card.save(update_fields=["failed_attempts"])
    return AuthenticationFailed(WRONG_CARD_OR_PIN)


def unblock_card(*, card_number: str, actor, reason: str) -> Card:
    """Staff unblock a card: it is active again with a fresh count of attempts.

    `actor` is the staff user (None from the command line); `reason` is required, for the audit.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidRequest("reason", "A reason is required to unblock a card.")
    with transaction.atomic():
        card = Card.objects.select_for_update(of=("self",)).filter(number=card_number).first()
        if card is None:
            raise CardNotFound("No such card.")
        if not card.is_blocked:
            raise CardNotBlocked(f"Card {card.masked_number} is not blocked.")
        card.status = Card.Status.ACTIVE
        card.failed_attempts = 0
        card.save(update_fields=["status", "failed_attempts"])
        record_event(
            action="card.unblocked", actor=actor, target=card, data=_card_data(card, reason=reason)
        )
    return card
