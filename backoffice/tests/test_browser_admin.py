"""Staff sign-in and the account page in a real browser (Debian's Chromium, Playwright).

`ADMIN_SCREENSHOT_DIR=docs` keeps the account page's screenshot (the README's comes from here).
"""

import os
from decimal import Decimal
from pathlib import Path

import pytest

from accounts.models import Account, Card
from accounts.services import freeze_account
from atm_project.testing.staff import current_code, make_staff
from backoffice import approvals
from transactions import services as ledger
from users.totp import provision_totp

pytestmark = pytest.mark.browser
WIDTH = 1280
SCREENSHOT_DIR = os.environ.get("ADMIN_SCREENSHOT_DIR")


@pytest.fixture
def admin_url(demo_site):
    return f"{demo_site}/admin/"


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": WIDTH, "height": 900})
    page = context.new_page()
    page.set_default_timeout(5000)
    yield page
    context.close()


def sign_in(page, username: str, password: str, code: str = "") -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    if code:
        page.get_by_label("OTP Token").fill(code)
    page.get_by_role("button", name="Log in").click()


def test_staff_sign_in_needs_the_password_and_a_code(page, admin_url, roles):
    from playwright.sync_api import expect

    staff = make_staff("clerk", roles["Tellers"])
    device = provision_totp(user=staff)
    page.goto(admin_url)
    sign_in(page, "clerk", "correct-horse-battery-9")
    expect(page.get_by_text("Please enter your OTP token")).to_be_visible()
    expect(page.get_by_role("heading", name="Site administration")).to_have_count(0)

    sign_in(page, "clerk", "correct-horse-battery-9", current_code(device))
    expect(page.get_by_role("heading", name="Accounts, ledger and audit trail")).to_be_visible()
    expect(page.get_by_role("link", name="Accounts", exact=True).first).to_be_visible()


def _story_for(number: str, teller, supervisor) -> Account:
    """The demo checking account after a day at the bank: a withdrawal, a block, a freeze."""
    account = Account.objects.get(number=number)
    ledger.withdraw(account_number=number, amount=Decimal("60.00"), actor=account.owner)
    card = Card.objects.get(account=account)
    card.status, card.failed_attempts = Card.Status.BLOCKED, 3
    card.save(update_fields=["status", "failed_attempts"])
    freeze_account(number=number, actor=teller, reason="Card reported stolen at branch 7")
    approvals.request_card_unblock(
        card_number=card.number, actor=teller, reason="New card ordered; customer identified"
    )
    return account


def test_the_account_page_fits_1280_px(page, admin_url, roles):
    from playwright.sync_api import expect

    teller = make_staff("teller", roles["Tellers"])
    supervisor = make_staff("supervisor", roles["Supervisors"])
    account = _story_for("1000000008", teller, supervisor)
    device = provision_totp(user=supervisor)
    page.goto(admin_url)
    sign_in(page, "supervisor", "correct-horse-battery-9", current_code(device))
    page.goto(f"{admin_url}accounts/account/{account.pk}/change/")
    expect(page.get_by_role("heading", name="Status")).to_be_visible()
    expect(page.get_by_text("Card reported stolen at branch 7").first).to_be_visible()
    expect(page.get_by_role("link", name="•••• 7899")).to_be_visible()
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    if SCREENSHOT_DIR:
        page.screenshot(path=str(Path(SCREENSHOT_DIR) / "admin-account.png"), full_page=True)
    for listing in ("transactions/transaction/", "audit/auditevent/", "transactions/entry/"):
        page.goto(f"{admin_url}{listing}")
        assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, listing
