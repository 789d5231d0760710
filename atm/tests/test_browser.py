"""The web ATM in a real browser: Debian's Chromium driven by Playwright against a live server.

Everything is found the way a person (or a screen reader) finds it: by role and accessible name.
"""

import os
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.models import Account, Card
from accounts.tests.factories import AccountFactory, issue_test_card
from atm_project.testing.demo import DEMO_CARD, DEMO_CHECKING, DEMO_PIN, DEMO_SAVINGS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Set to a directory to keep screenshots of the page at each width (the README's comes from here).
SCREENSHOT_DIR = os.environ.get("ATM_SCREENSHOT_DIR")

pytestmark = pytest.mark.browser


def _chromium_or_skip() -> None:
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("CI"):
        pytest.fail(f"{CHROMIUM} is missing: .ci/run installs it (apt-get install chromium)")
    pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium to run the browser tests")


@pytest.fixture(scope="module", autouse=True)
def _allow_sync_db_beside_playwright():
    """Playwright's sync API keeps an event loop running in this thread, which makes Django
    refuse synchronous database access from it (fixtures, assertions, the flush after each
    test). Nothing here is async code, so the guard has nothing to protect."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def browser(_allow_sync_db_beside_playwright):
    _chromium_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def atm_url(live_server, settings):
    """The ATM page on a live server with the demo data. Static files come straight from the
    apps (the live server's static handler), so no collectstatic run is needed."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    call_command("seed_demo", verbosity=0)
    return f"{live_server.url}/atm/"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1024, "height": 768})
    page = context.new_page()
    page.set_default_timeout(5000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # A Content-Security-Policy violation is reported on the console.
    page.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


def expect_status(page, text: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("status")).to_contain_text(text)


def button(page, name: str):
    return page.get_by_role("button", name=name, exact=True)


def sign_in(page, card: str = DEMO_CARD, pin: str = DEMO_PIN) -> None:
    page.get_by_label("Card number").fill(card)
    page.get_by_label("PIN", exact=True).fill(pin)
    button(page, "Sign in").click()


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
    assert Account.objects.get(number=DEMO_CHECKING).balance == Decimal("980.00")

    page.get_by_label("Other amount").fill("5000")
    button(page, "Confirm").click()
    expect_status(page, "Insufficient funds")
    assert Account.objects.get(number=DEMO_CHECKING).balance == Decimal("980.00")

    button(page, "Transfer").click()
    page.get_by_label("To account").fill(DEMO_SAVINGS)
    page.get_by_label("Amount", exact=True).fill("100.25")
    button(page, "Confirm").click()
    expect_status(page, f"Transferred 100.25 USD to {DEMO_SAVINGS}. New balance: 879.75 USD")
    assert Account.objects.get(number=DEMO_SAVINGS).balance == Decimal("2600.25")

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


def test_signs_out_when_idle(page, atm_url, settings):
    from playwright.sync_api import expect

    settings.ATM_IDLE_TIMEOUT_SECONDS = 1
    page.goto(atm_url)
    sign_in(page)
    expect_status(page, "Signed in")

    expect_status(page, "Signed out: no activity for 1 seconds")
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
        expect_status(page, "Authentication failed" if expected == 401 else "Card blocked")

    sign_in(page, card.number, "2468")
    expect_status(page, "Card blocked")
    expect(button(page, "Balance")).to_have_count(0)
    card.refresh_from_db()
    assert card.status == Card.Status.BLOCKED and card.failed_attempts == 3


@pytest.mark.parametrize("width", [320, 1024])
def test_fits_the_screen_at_phone_and_desk_widths(browser, atm_url, width):
    context = browser.new_context(viewport={"width": width, "height": 800})
    try:
        page = context.new_page()
        page.set_default_timeout(5000)
        page.goto(atm_url)
        _assert_no_horizontal_scroll(page, width)
        _keep_screenshot(page, f"atm-{width}-signin.png")
        sign_in(page)
        button(page, "Withdraw").click()
        button(page, "60").click()
        expect_status(page, "New balance: 940.00 USD")
        _assert_no_horizontal_scroll(page, width)
        _keep_screenshot(page, f"atm-{width}-withdraw.png")
        button(page, "Mini statement").click()
        expect_status(page, "Mini statement")
        _assert_no_horizontal_scroll(page, width)
        for name in ("Balance", "Withdraw", "Deposit", "Transfer", "Mini statement", "Sign out"):
            box = button(page, name).bounding_box()
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width
            assert box["height"] >= 40, f"{name} is too small a target at {width} px"
        _keep_screenshot(page, f"atm-{width}.png")
    finally:
        context.close()


def _keep_screenshot(page, name: str) -> None:
    if SCREENSHOT_DIR:
        target = Path(SCREENSHOT_DIR)
        target.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(target / name), full_page=True)


def _assert_no_horizontal_scroll(page, width: int) -> None:
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width, f"the page is {scroll_width} px wide in a {width} px window"
