"""The web ATM in a real browser: Debian's Chromium driven by Playwright against a live server.

Everything is found the way a person (or a screen reader) finds it: by role and accessible name.
"""

from decimal import Decimal

import pytest

from accounts.models import Card
from accounts.tests.factories import AccountFactory, issue_test_card
from atm_project.demo import DEMO_CARD, DEMO_CHECKING, DEMO_PIN, DEMO_SAVINGS

from .browser import (
    assert_no_horizontal_scroll,
    balance_of,
    button,
    expect_status,
    keep_screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser


def test_a_customer_session_from_sign_in_to_sign_out(page, atm_url):
    from playwright.sync_api import expect

    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in to account •••• 0008")

    button(page, "Balance").click()
    expect_status(page, "Balance: 1,000.00 USD")

    button(page, "Withdraw").click()
    button(page, "20").click()
    expect_status(page, "Withdrew 20.00 USD. New balance: 980.00 USD")
    assert balance_of(DEMO_CHECKING) == Decimal("980.00")

    page.get_by_label("Other amount").fill("5000")
    button(page, "Confirm").click()
    expect_status(page, "Your balance is too low to withdraw 5,000.00 USD.")
    assert balance_of(DEMO_CHECKING) == Decimal("980.00")

    button(page, "Transfer").click()
    page.get_by_label("To account").fill(DEMO_SAVINGS)
    page.get_by_label("Amount", exact=True).fill("100.25")
    button(page, "Continue").click()
    button(page, "Confirm transfer").click()
    expect_status(page, f"Transferred 100.25 USD to {DEMO_SAVINGS}. New balance: 879.75 USD")
    assert balance_of(DEMO_SAVINGS) == Decimal("2600.25")

    button(page, "Deposit").click()
    page.get_by_label("Amount", exact=True).fill("1234.5")
    button(page, "Confirm").click()
    expect_status(page, "New balance: 2,114.25 USD")

    button(page, "Mini statement").click()
    table = page.get_by_role("table")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)  # opening balance, withdrawal, transfer, deposit
    newest = rows.first.locator("td")
    expect(newest.nth(0)).to_contain_text("Deposit")
    expect(table.locator("thead th")).to_have_text(["Entry", "Amount (USD)", "Balance (USD)"])
    expect(newest.nth(1)).to_have_text("1,234.50")
    expect(newest.nth(2)).to_have_text("2,114.25")
    expect(rows.nth(1).locator("td").nth(1)).to_have_text("-100.25")

    button(page, "Sign out").click()
    expect_status(page, "Signed out")
    expect(page.get_by_label("Card number")).to_be_focused()
    expect(button(page, "Balance")).to_have_count(0)


def test_usable_by_keyboard_alone(page, atm_url):
    from playwright.sync_api import expect

    page.goto(atm_url)
    expect(page.get_by_label("Card number")).to_be_focused()
    page.keyboard.type(DEMO_CARD)
    page.keyboard.press("Tab")
    page.keyboard.type(DEMO_PIN)
    page.keyboard.press("Enter")
    expect_status(page, "Signed in")

    page.keyboard.press("Tab")  # focus went to the menu's heading; the first service is next
    expect(button(page, "Balance")).to_be_focused()
    page.keyboard.press("Enter")
    expect_status(page, "Balance: 1,000.00 USD")

    page.keyboard.press("Tab")
    page.keyboard.press("Enter")  # Withdraw
    page.keyboard.press("Tab")
    expect(button(page, "20")).to_be_focused()
    page.keyboard.press("Space")
    expect_status(page, "New balance: 980.00 USD")


def test_the_token_is_kept_in_memory_only(page, atm_url):
    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in")

    stored = page.evaluate(
        "() => [localStorage.length, sessionStorage.length, document.cookie, indexedDB ? 1 : 0]"
    )
    assert stored[:3] == [0, 0, ""]
    assert page.context.cookies() == []


def test_signs_out_when_idle(page, atm_url):
    from playwright.sync_api import expect

    page.clock.install()  # the page's timers run on a clock the test moves
    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in")

    page.clock.run_for(120_000)

    expect_status(page, "You were signed out because there was no activity")
    expect(page.get_by_label("Card number")).to_be_visible()
    expect(button(page, "Balance")).to_have_count(0)


def test_three_wrong_pins_block_the_card(page, atm_url, user):
    from playwright.sync_api import expect

    card = issue_test_card(AccountFactory(owner=user, balance="10.00"))
    page.goto(atm_url)

    for expected in (401, 401, 423):
        with page.expect_response("**/api/v1/auth/card/") as answer:
            sign_in(page, card.number, "1357")
        assert answer.value.status == expected
        expect_status(
            page,
            "Wrong card number or PIN. Your card is blocked after 3 wrong PINs."
            if expected == 401
            else "Your card is blocked. Please call the bank.",
        )

    sign_in(page, card.number, "2468")
    expect_status(page, "Your card is blocked. Please call the bank.")
    expect(button(page, "Balance")).to_have_count(0)
    card.refresh_from_db()
    assert card.status == Card.Status.BLOCKED and card.failed_attempts == 3


@pytest.mark.parametrize("width", [320, 390, 1280])
def test_fits_the_screen_at_phone_and_desk_widths(browser, atm_url, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(atm_url)
        assert_no_horizontal_scroll(page, width)
        keep_screenshot(page, f"atm-{width}-signin.png")
        sign_in(page)
        button(page, "Withdraw").click()
        button(page, "60").click()
        expect_status(page, "New balance: 940.00 USD")
        assert_no_horizontal_scroll(page, width)
        keep_screenshot(page, f"atm-{width}-withdraw.png")
        button(page, "Mini statement").click()
        expect_status(page, "Mini statement")
        assert_no_horizontal_scroll(page, width)
        for name in ("Balance", "Withdraw", "Deposit", "Transfer", "Mini statement", "Sign out"):
            box = button(page, name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["height"] >= 40, f"{name} is too small a target at {width} px"
        keep_screenshot(page, f"atm-{width}.png")
    finally:
        context.close()
