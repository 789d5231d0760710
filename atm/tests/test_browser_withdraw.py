"""The web ATM's cash withdrawal in a real browser: the money is held, paid out, then the hold is
captured; a dispenser fault voids the hold; a customer who walks away gets the money back when
the hold expires."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from accounts.models import Account
from atm import dispenser
from atm_project.demo import DEMO_CHECKING
from transactions.models import Hold, Transaction
from transactions.selectors import held_amount

from .browser import balance_of, button, expect_status, sign_in

pytestmark = pytest.mark.browser

DISPENSE_URL = "**/atm/dispense*"
CAPTURE_URL = "**/api/v1/holds/*/capture/"
NOTHING_TAKEN = "The machine could not dispense your cash. Nothing was taken from your account."


def expect_focus_on(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_focused()


def at_withdraw(page, atm_url) -> None:
    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in to account")
    button(page, "Withdraw").click()


def held_back(page, url: str) -> list:
    """Requests to `url` are kept unanswered in the returned list, until the test answers them."""
    requests = []
    page.route(url, lambda route: requests.append(route))
    return requests


def held_now() -> Decimal:
    return held_amount(Account.objects.get(number=DEMO_CHECKING), at=timezone.now())


def test_a_withdrawal_holds_dispenses_then_captures(page, atm_url):
    waiting = held_back(page, DISPENSE_URL)  # so the test sees the page while it pays out
    at_withdraw(page, atm_url)

    button(page, "40").click()

    expect_status(page, "Dispensing\u2026")
    expect_focus_on(button(page, "40"))
    hold = Hold.objects.get()
    assert (hold.status, hold.amount) == (Hold.Status.PENDING, Decimal("40.00"))
    assert hold.expires_at - hold.created_at == timedelta(seconds=60)
    assert held_now() == Decimal("40.00")
    waiting[0].continue_()

    expect_status(page, "Withdrew 40.00 USD. New balance: 960.00 USD. Please take your cash.")
    expect_focus_on(button(page, "40"))
    hold.refresh_from_db()
    assert (hold.status, hold.captured_amount) == (Hold.Status.CAPTURED, Decimal("40.00"))
    withdrawal = Transaction.objects.get(hold=hold)
    assert (withdrawal.kind, withdrawal.amount) == (Transaction.Kind.WITHDRAWAL, Decimal("40.00"))
    assert balance_of(DEMO_CHECKING) == Decimal("960.00")
    assert held_now() == Decimal("0.00")


def test_a_dispenser_fault_voids_the_hold_and_takes_nothing(page, atm_url):
    at_withdraw(page, atm_url)
    dispenser.arm_fault()

    button(page, "40").click()

    expect_status(page, NOTHING_TAKEN)
    expect_focus_on(button(page, "40"))
    hold = Hold.objects.get()
    assert (hold.status, hold.void_reason) == (Hold.Status.VOIDED, "dispense_failed")
    assert not Transaction.objects.filter(hold=hold).exists()
    assert balance_of(DEMO_CHECKING) == Decimal("1000.00")
    assert held_now() == Decimal("0.00")

    # The fault was used up: the next withdrawal pays out.
    button(page, "20").click()
    expect_status(page, "Withdrew 20.00 USD. New balance: 980.00 USD.")


def test_a_customer_who_walks_away_gets_the_money_back_when_the_hold_expires(
    page, atm_url, settings
):
    from playwright.sync_api import expect

    settings.ATM_IDLE_TIMEOUT_SECONDS = 60  # signed out before the token needs renewing
    settings.ATM_IDLE_WARNING_SECONDS = 10
    page.clock.install()
    stuck = held_back(page, DISPENSE_URL)  # the dispenser never answers while the customer is there
    at_withdraw(page, atm_url)
    button(page, "40").click()
    expect_status(page, "Dispensing\u2026")

    page.clock.run_for(61_000)
    expect_status(page, "You were signed out because there was no activity.")
    stuck[0].abort()  # the dispenser's late answer changes nothing, and says nothing

    sign_in(page)  # the customer comes back (by now the page has handled the late answer)
    button(page, "Balance").click()
    expect_status(page, "Balance: 1,000.00 USD. Available now: 960.00 USD.")
    hold = Hold.objects.get()
    assert hold.status == Hold.Status.PENDING  # neither captured nor voided: it will expire
    assert not Transaction.objects.filter(hold=hold).exists()
    assert held_now() == Decimal("40.00")

    # A minute passes: expiry is decided by the server's clock, so the hold is moved back in time
    # (both its times: it must still expire after it was made).
    a_minute = hold.expires_at - hold.created_at + timedelta(seconds=1)
    Hold.objects.filter(pk=hold.pk).update(
        created_at=F("created_at") - a_minute, expires_at=F("expires_at") - a_minute
    )

    assert held_now() == Decimal("0.00")
    button(page, "Balance").click()
    expect(page.get_by_role("status")).to_have_text("Balance: 1,000.00 USD.")
    assert balance_of(DEMO_CHECKING) == Decimal("1000.00")


def test_a_capture_the_network_lost_is_resent_with_the_same_key(page, atm_url):
    sent = []  # (Idempotency-Key, the bank's Idempotent-Replayed answer) of each capture sent

    def lose_the_first_answer(route):
        answer = route.fetch()  # the bank receives it and captures the hold ...
        sent.append(
            (route.request.headers["idempotency-key"], answer.headers.get("idempotent-replayed"))
        )
        if len(sent) == 1:
            route.abort()  # ... but the answer never reaches the machine
        else:
            route.fulfill(response=answer)

    page.route(CAPTURE_URL, lose_the_first_answer)
    at_withdraw(page, atm_url)
    with page.expect_request("**/holds/") as hold_request:
        button(page, "40").click()

    expect_status(page, "Withdrew 40.00 USD. New balance: 960.00 USD.")
    (first_key, first_replayed), (second_key, second_replayed) = sent
    assert first_key == second_key and (first_replayed, second_replayed) == (None, "true")
    assert hold_request.value.headers["idempotency-key"] != first_key
    assert Transaction.objects.filter(hold__isnull=False).count() == 1
    assert balance_of(DEMO_CHECKING) == Decimal("960.00")
