"""The web ATM as a customer meets it: plain messages, focus that never falls to <body>, invalid
fields marked, transfers confirmed before they post, and a session kept alive by activity."""

from decimal import Decimal

import pytest

from atm_project.demo import DEMO_CHECKING, DEMO_SAVINGS

from .browser import (
    assert_no_horizontal_scroll,
    balance_of,
    button,
    expect_status,
    keep_screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

EXTEND_URL = "**/api/v1/auth/card/extend/"


def expect_focus_on(locator) -> None:
    from playwright.sync_api import expect

    expect(locator).to_be_focused()


def focused_tag(page) -> str:
    return page.evaluate("() => document.activeElement.tagName")


def signed_in(page, atm_url) -> None:
    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in to account")


def test_focus_stays_on_the_control_or_moves_to_the_result(page, atm_url):
    signed_in(page, atm_url)

    button(page, "Balance").click()
    expect_status(page, "Balance: 1,000.00 USD.")
    expect_focus_on(button(page, "Balance"))

    button(page, "Withdraw").click()
    expect_focus_on(page.get_by_role("heading", name="Withdraw cash"))
    button(page, "40").click()
    expect_status(page, "Withdrew 40.00 USD. New balance: 960.00 USD.")
    expect_focus_on(button(page, "40"))

    button(page, "Mini statement").click()
    expect_focus_on(page.get_by_role("heading", name="Mini statement"))
    assert focused_tag(page) != "BODY"


def test_an_invalid_amount_is_marked_on_the_field_and_nothing_is_sent(page, atm_url):
    from playwright.sync_api import expect

    signed_in(page, atm_url)
    button(page, "Deposit").click()
    amount = page.get_by_label("Amount", exact=True)
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/deposit" in request.url else 0)

    for typed in ("abc", "0", "12.345", "-5"):
        amount.fill(typed)
        button(page, "Confirm").click()
        expect(amount).to_have_attribute("aria-invalid", "true")
        # The inline message is the field's description, so a screen reader reads it with it.
        expect(amount).to_have_accessible_description("Enter an amount like 20 or 12.50.")
        expect_status(page, "Enter an amount like 20 or 12.50.")
        expect_focus_on(amount)
    assert sent == []

    amount.fill("12.50")
    button(page, "Confirm").click()
    expect_status(page, "Deposited 12.50 USD. New balance: 1,012.50 USD.")
    expect(amount).not_to_have_attribute("aria-invalid", "true")
    expect_focus_on(button(page, "Confirm"))


def test_a_transfer_is_confirmed_before_it_posts(page, atm_url):
    from playwright.sync_api import expect

    signed_in(page, atm_url)
    button(page, "Transfer").click()
    page.get_by_label("To account").fill(DEMO_SAVINGS)
    page.get_by_label("Amount", exact=True).fill("75")
    button(page, "Continue").click()

    summary = page.locator("[data-confirm]")
    expect(summary).to_contain_text(DEMO_SAVINGS)
    expect(summary).to_contain_text("75.00 USD")
    expect_status(page, f"Transfer 75.00 USD to account {DEMO_SAVINGS}?")
    expect_focus_on(button(page, "Confirm transfer"))
    assert balance_of(DEMO_CHECKING) == Decimal("1000.00")  # nothing has moved yet
    keep_screenshot(page, "atm-1024-transfer-confirm.png")

    button(page, "Change").click()
    expect_focus_on(page.get_by_label("To account"))
    expect(page.get_by_label("To account")).to_have_value(DEMO_SAVINGS)
    page.get_by_label("Amount", exact=True).fill("80")
    button(page, "Continue").click()
    expect(summary).to_contain_text("80.00 USD")
    button(page, "Confirm transfer").click()

    expect_status(page, f"Transferred 80.00 USD to {DEMO_SAVINGS}. New balance: 920.00 USD.")
    expect_focus_on(page.get_by_role("status"))
    assert balance_of(DEMO_CHECKING) == Decimal("920.00")
    assert balance_of(DEMO_SAVINGS) == Decimal("2580.00")


def test_a_refused_transfer_target_is_marked_on_its_field(page, atm_url):
    from playwright.sync_api import expect

    signed_in(page, atm_url)
    button(page, "Transfer").click()
    page.get_by_label("To account").fill("1234567")
    page.get_by_label("Amount", exact=True).fill("10")
    button(page, "Continue").click()
    button(page, "Confirm transfer").click()

    to_account = page.get_by_label("To account")
    expect(to_account).to_have_attribute("aria-invalid", "true")
    expect_status(page, "This account cannot receive your transfer. Check the number.")
    expect_focus_on(to_account)
    assert balance_of(DEMO_CHECKING) == Decimal("1000.00")


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("2000", "Your balance is too low to withdraw 2,000.00 USD."),
        ("1000", "You cannot withdraw 1,000.00 USD today: it is over your daily limit."),
    ],
)
def test_refusals_are_plain_sentences_with_the_currency(page, atm_url, amount, message):
    signed_in(page, atm_url)
    if amount == "1000":  # the demo account holds 1000.00: fund it past the 1000.00 daily limit
        button(page, "Deposit").click()
        page.get_by_label("Amount", exact=True).fill("500")
        button(page, "Confirm").click()
        expect_status(page, "New balance: 1,500.00 USD.")
        button(page, "Withdraw").click()
        button(page, "20").click()
        expect_status(page, "New balance: 1,480.00 USD.")
    else:
        button(page, "Withdraw").click()

    page.get_by_label("Other amount").fill(amount)
    button(page, "Confirm").click()

    expect_status(page, message)


def test_a_wrong_pin_is_told_plainly_and_focus_returns_to_the_pin(page, atm_url):
    from playwright.sync_api import expect

    page.goto(atm_url)
    sign_in(page, pin="1357")

    expect_status(page, "Wrong card number or PIN. Your card is blocked after 3 wrong PINs.")
    expect_focus_on(page.get_by_label("PIN", exact=True))
    page.get_by_label("Card number").fill("1234")
    button(page, "Sign in").click()
    expect(page.get_by_label("Card number")).to_have_attribute("aria-invalid", "true")
    expect_focus_on(page.get_by_label("Card number"))


def test_activity_extends_the_session_so_an_active_customer_stays_signed_in(page, atm_url):
    page.clock.install()
    signed_in(page, atm_url)

    # Ten minutes of a customer pressing a key every 50 seconds: well past the token's 2 minutes.
    for _ in range(9):
        page.clock.run_for(50_000)
        with page.expect_response(EXTEND_URL) as extended:
            page.keyboard.press("Shift")
        assert extended.value.status == 200
        fresh_token = extended.value.json()["access"]

    with page.expect_request("**/balance/") as balance_request:
        button(page, "Balance").click()
    expect_status(page, "Balance: 1,000.00 USD.")
    assert balance_request.value.headers["authorization"] == f"Bearer {fresh_token}"


def test_an_idle_customer_is_warned_20_seconds_before_sign_out(page, atm_url):
    from playwright.sync_api import expect

    page.clock.install()
    signed_in(page, atm_url)

    page.clock.run_for(99_000)
    expect_status(page, "Signed in")
    page.clock.run_for(2_000)
    expect_status(page, "Are you still there? You will be signed out in 20 seconds.")
    keep_screenshot(page, "atm-1024-idle-warning.png")

    # Still there: the warning goes, the idle time starts again, and the token is renewed
    # (awaited, as the test's clock jumps faster than any real request).
    with page.expect_response(EXTEND_URL):
        page.keyboard.press("Shift")
    expect_status(page, "You are still signed in.")
    page.clock.run_for(100_000)
    expect(button(page, "Balance")).to_be_visible()
    page.clock.run_for(21_000)
    expect_status(page, "You were signed out because there was no activity.")
    expect(button(page, "Balance")).to_have_count(0)


@pytest.mark.parametrize("width", [390, 1280])
def test_screenshots_of_the_confirmation_and_an_invalid_field(browser, atm_url, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(5000)
        signed_in(page, atm_url)
        button(page, "Transfer").click()
        page.get_by_label("To account").fill(DEMO_SAVINGS)
        page.get_by_label("Amount", exact=True).fill("12,50")
        button(page, "Continue").click()
        expect_status(page, "Enter an amount like 20 or 12.50.")
        assert_no_horizontal_scroll(page, width)
        keep_screenshot(page, f"atm-{width}-invalid-amount.png")
        page.get_by_label("Amount", exact=True).fill("12.50")
        button(page, "Continue").click()
        expect_status(page, "Confirm or change it.")
        assert_no_horizontal_scroll(page, width)
        keep_screenshot(page, f"atm-{width}-transfer-confirm.png")
    finally:
        context.close()
