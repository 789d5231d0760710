"""The web ATM's browser fixtures (Chromium itself comes from atm_project/testing/browser.py;
helpers to drive the page are in browser.py)."""

import pytest


@pytest.fixture
def atm_url(demo_site):
    return f"{demo_site}/atm/"


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
