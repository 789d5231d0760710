"""Driving the web ATM in a browser: controls are found the way a person (or a screen reader)
finds them, by role and accessible name."""

import os
from decimal import Decimal
from pathlib import Path

from accounts.models import Account
from atm_project.demo import DEMO_CARD, DEMO_PIN

# Set to a directory to keep screenshots of the page at each width (the README's comes from here).
SCREENSHOT_DIR = os.environ.get("ATM_SCREENSHOT_DIR")


def expect_status(page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("status")).to_contain_text(text)


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def sign_in(page, card: str = DEMO_CARD, pin: str = DEMO_PIN) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("PIN", exact=True).fill(pin)
    button(page, "Sign in").click()


def balance_of(number: str) -> Decimal:
    return Account.objects.get(number=number).balance


def keep_screenshot(page, name: str) -> None:
    """With ATM_SCREENSHOT_DIR set, keep a full-page screenshot there (docs/ has the latest)."""
    if SCREENSHOT_DIR:
        target = Path(SCREENSHOT_DIR)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / name), full_page=True)


def assert_no_horizontal_scroll(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"
