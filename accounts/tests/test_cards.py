"""Cards: issuance over HTTP with the PIN rules, masking, the unblock command and the demo card."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.utils import timezone

from accounts.cards import expiry_date, pin_problem, sign_in_with_card, unblock_card
from accounts.models import Account, Card
from accounts.numbers import is_luhn_valid
from accounts.tests.factories import issue_test_card
from atm_project.testing.clients import account_url
from atm_project.testing.problems import assert_problem


def test_issuing_a_card_returns_its_full_number_once(auth_client, account):
    response = auth_client.post(account_url(account, "cards"), {"pin": "2468"}, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"card_number", "account_number", "status", "expires_on"}
    number = body["card_number"]
    assert len(number) == 16 and number.startswith("400000") and is_luhn_valid(number)
    assert body["account_number"] == account.number
    assert body["status"] == "active"
    assert body["expires_on"] == expiry_date(timezone.localdate()).isoformat()
    card = Card.objects.get(number=number)
    assert card.account == account and card.failed_attempts == 0


def test_the_pin_is_stored_only_as_a_hash(auth_client, account):
    auth_client.post(account_url(account, "cards"), {"pin": "2468"}, format="json")

    card = Card.objects.get(account=account)
    assert "2468" not in card.pin_hash
    assert check_password("2468", card.pin_hash)
    assert not check_password("2469", card.pin_hash)


def test_each_card_gets_its_own_number(account):
    numbers = {issue_test_card(account).number for _ in range(5)}
    assert len(numbers) == 5


WEAK_OR_MALFORMED_PINS = [
    "246",  # too short
    "2468024",  # too long
    "24a8",
    " 2468",
    "",
    "\uff12\uff14\uff16\uff18",  # fullwidth digits: digits to Python, not to a keypad
    "1111",
    "000000",
    "1234",
    "9876",
    "123456",
    "654321",
    "3456",
    "7890",
    "0987",
]
GOOD_PINS = ["2468", "1357", "1235", "0986", "7891", "13579", "112233"]


# The rules themselves need no database; the endpoint is checked with one of each below.
@pytest.mark.parametrize("pin", WEAK_OR_MALFORMED_PINS)
def test_weak_or_malformed_pins_have_a_problem(pin):
    assert pin_problem(pin) is not None


@pytest.mark.parametrize("pin", GOOD_PINS)
def test_pins_that_are_not_trivial_are_accepted(pin):
    assert pin_problem(pin) is None


@pytest.mark.django_db
@pytest.mark.parametrize("pin", ["246", "9876", 1234])
def test_the_endpoint_refuses_a_weak_pin(auth_client, account, pin):
    response = auth_client.post(account_url(account, "cards"), {"pin": pin}, format="json")

    body = assert_problem(response, 400, "validation_error")
    assert "pin" in body["errors"]
    assert not Card.objects.exists()


def test_a_pin_is_required(auth_client, account):
    body = assert_problem(
        auth_client.post(account_url(account, "cards"), {}, format="json"), 400, "validation_error"
    )
    assert "pin" in body["errors"]


def test_only_the_owner_can_issue_a_card(client_for, other_user, account):
    response = client_for(other_user).post(
        account_url(account, "cards"), {"pin": "2468"}, format="json"
    )

    assert_problem(response, 404, "not_found")
    assert not Card.objects.exists()


def test_unknown_account_is_not_found(auth_client):
    response = auth_client.post(
        "/api/v1/accounts/1234567890/cards/", {"pin": "2468"}, format="json"
    )
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("status", [Account.Status.FROZEN, Account.Status.CLOSED])
def test_no_card_on_an_account_that_is_not_active(auth_client, account, status):
    Account.objects.filter(pk=account.pk).update(status=status)

    response = auth_client.post(account_url(account, "cards"), {"pin": "2468"}, format="json")

    assert_problem(response, 409, "account_not_active")


def test_issuing_needs_a_sign_in(api_client, account):
    response = api_client.post(account_url(account, "cards"), {"pin": "2468"}, format="json")
    assert_problem(response, 401, "not_authenticated")


def test_card_is_masked_everywhere_but_issuance(account):
    card = issue_test_card(account)

    assert card.masked_number == f"•••• {card.number[-4:]}"
    assert card.number not in str(card)
    assert card.masked_number in str(card)


def test_expiry_is_four_years_out_even_from_a_leap_day():
    assert expiry_date(date(2026, 3, 1)) == date(2030, 3, 1)
    assert expiry_date(date(2028, 2, 29)) == date(2032, 2, 29)
    assert expiry_date(date(2096, 2, 29)) == date(2100, 2, 28)  # 2100 is no leap year


def blocked_card(account) -> Card:
    return issue_test_card(account, status=Card.Status.BLOCKED, failed_attempts=3)


# The unblock_card command files a four-eyes request: tested in backoffice/tests.


def test_unblock_service_takes_the_staff_actor(account, other_user):
    card = blocked_card(account)

    unblocked = unblock_card(card_number=card.number, actor=other_user, reason="verified by phone")

    assert unblocked.pk == card.pk and unblocked.status == Card.Status.ACTIVE


@pytest.mark.django_db
def test_seed_demo_issues_the_demo_card_once():
    call_command("seed_demo")
    call_command("seed_demo")

    card = Card.objects.get(number="4000001234567899")
    assert Card.objects.count() == 1
    assert card.account.number == "1000000008"
    assert card.expires_on > timezone.localdate() + timedelta(days=365)
    assert sign_in_with_card(card_number=card.number, pin="2468") == card
