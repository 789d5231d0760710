"""/api/ passes the browser's middleware by (atm_project/browser_only.py); nothing else does.

Over HTTP: API answers keep every security header and the request id, and take no session,
session user or message store even when a browser sends its cookies along; the admin and the
web ATM page keep sessions, CSRF, the staff's OTP device and messages, and a POST without a
CSRF token is still refused there. Then the mechanism itself, on a middleware that has every
hook Django knows.
"""

import pytest
from django.core import checks
from django.http import HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.test import Client, override_settings
from django.urls import path, reverse
from django.utils.deprecation import MiddlewareMixin
from django.views.decorators.csrf import csrf_exempt

from accounts.models import Account
from atm_project.middleware import browser_only
from atm_project.testing.clients import account_url
from atm_project.testing.staff import current_code
from security.middleware import API_CSP
from users.tests.factories import DEFAULT_PASSWORD
from users.totp import provision_totp

pytestmark = pytest.mark.django_db

# What SecurityMiddleware and security.middleware.SecurityHeadersMiddleware put on API answers.
API_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": API_CSP,
    "Cache-Control": "no-store",
}
# What the browser's middleware leaves on a request it handled.
BROWSER_STATE = ("session", "_messages")
ADMIN_LOGIN = "/admin/login/"


def browser_state_of(response) -> set[str]:
    return {name for name in BROWSER_STATE if hasattr(response.wsgi_request, name)}


def csrf_cookie(client: Client) -> str:
    return client.cookies["csrftoken"].value


# --- /api/: what stays, what is skipped ----------------------------------------------------------


def test_api_answers_keep_the_security_headers_and_the_request_id(auth_client, api_client, account):
    balance = account_url(account, "balance")
    answers = {
        200: auth_client.get(balance, HTTP_X_REQUEST_ID="req-200"),
        401: api_client.get(balance, HTTP_X_REQUEST_ID="req-401"),
        404: auth_client.get("/api/v1/nowhere/", HTTP_X_REQUEST_ID="req-404"),
        415: auth_client.post(
            account_url(account, "deposit"),
            "amount=1",
            content_type="application/x-www-form-urlencoded",
            HTTP_X_REQUEST_ID="req-415",
        ),
    }
    for status, response in answers.items():
        assert response.status_code == status
        assert {name: response.get(name) for name in API_SECURITY_HEADERS} == API_SECURITY_HEADERS
        assert response["X-Request-ID"] == f"req-{status}"


def test_api_requests_get_no_session_user_or_messages_even_with_a_browsers_cookies(
    client, user, auth_client, account
):
    """A customer's browser holding a signed-in session: its cookies mean nothing to the API."""
    client.force_login(user)
    auth_client.cookies = client.cookies

    served = auth_client.get(account_url(account, "balance"))
    assert served.status_code == 200
    assert browser_state_of(served) == set()
    assert "Set-Cookie" not in served.headers and "Cookie" not in served.get("Vary", "")

    # The session alone is not an identity here: only a bearer token is.
    auth_client.credentials()
    refused = auth_client.get(account_url(account, "balance"))
    assert refused.status_code == 401


# --- the admin and the web ATM keep all of it -----------------------------------------------------


def test_the_admin_sign_in_needs_csrf_and_the_code_and_keeps_a_verified_session(superuser):
    device = provision_totp(user=superuser)
    browser = Client(enforce_csrf_checks=True)
    assert browser.get(ADMIN_LOGIN).status_code == 200
    form = {"username": "root", "password": DEFAULT_PASSWORD, "otp_token": current_code(device)}

    forged = browser.post(ADMIN_LOGIN, form)
    assert forged.status_code == 403  # no CSRF token: refused before the form is read
    assert "sessionid" not in browser.cookies

    signed_in = browser.post(ADMIN_LOGIN, {**form, "csrfmiddlewaretoken": csrf_cookie(browser)})
    assert signed_in.status_code == 302
    # The session (and in it the verified OTP device) carries the staff member to the index.
    index = browser.get(reverse("admin:index"))
    assert index.status_code == 200
    assert index.wsgi_request.user.is_verified()


def test_admin_actions_need_csrf_and_report_through_messages(account, teller, staff_client):
    browser = staff_client(teller, Client(enforce_csrf_checks=True))
    changelist = reverse("admin:accounts_account_changelist")
    browser.get(changelist)  # sets the CSRF cookie, as the page would
    action = {
        "action": "freeze",
        "_selected_action": [str(account.pk)],
        "apply": "1",
        "reason": "Card skimming report",
    }

    forged = browser.post(changelist, action)
    assert forged.status_code == 403
    account.refresh_from_db()
    assert account.status == Account.Status.ACTIVE

    done = browser.post(changelist, {**action, "csrfmiddlewaretoken": csrf_cookie(browser)})
    assert done.status_code == 302
    account.refresh_from_db()
    assert account.status == Account.Status.FROZEN
    # The outcome is a flash message, stored by the message middleware, shown on the next page.
    assert "Freeze: 1 done." in browser.get(done["Location"]).content.decode()


@pytest.mark.parametrize("page", ["/atm/", "/"])
def test_the_web_pages_keep_the_browser_middleware_and_refuse_a_post_without_csrf(page):
    browser = Client(enforce_csrf_checks=True)
    shown = browser.get(page)
    assert shown.status_code == 200
    assert browser_state_of(shown) == set(BROWSER_STATE)
    assert browser.post(page).status_code == 403


def test_the_admin_still_finds_the_middleware_it_needs():
    # admin.E408-E410 look for sessions, authentication and messages by class.
    assert [message for message in checks.run_checks() if message.is_serious()] == []


# --- the mechanism, on a middleware with every hook -----------------------------------------------

CALLS: list[tuple[str, str]] = []


class RecordingMiddleware(MiddlewareMixin):
    """Records each of its hooks that runs, and answers from those that may answer."""

    def process_request(self, request):
        CALLS.append(("request", request.path))

    def process_view(self, request, view_func, view_args, view_kwargs):
        CALLS.append(("view", request.path))

    def process_exception(self, request, exception):
        CALLS.append(("exception", request.path))
        return HttpResponse("handled by the middleware", status=503)

    def process_template_response(self, request, response):
        CALLS.append(("template", request.path))
        return response

    def process_response(self, request, response):
        CALLS.append(("response", request.path))
        return response


BrowserOnlyRecordingMiddleware = browser_only(RecordingMiddleware)


class NoHooksMiddleware(MiddlewareMixin):
    pass


@csrf_exempt
def failing_view(request):
    raise RuntimeError("the view failed")


@csrf_exempt
def template_view(request):
    return TemplateResponse(request, engines["django"].from_string("ok"))


urlpatterns = [
    path(f"{prefix}/{name}/", view)
    for prefix in ("api", "page")
    for name, view in (("fails", failing_view), ("template", template_view))
]

RECORDED_STACK = {
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": [f"{__name__}.BrowserOnlyRecordingMiddleware"],
}


@pytest.fixture
def recorded():
    CALLS.clear()
    with override_settings(**RECORDED_STACK):
        yield Client(raise_request_exception=False)


def test_a_browser_page_runs_every_hook_of_the_wrapped_middleware(recorded):
    assert recorded.get("/page/template/").status_code == 200
    failed = recorded.get("/page/fails/")
    assert (failed.status_code, failed.content) == (503, b"handled by the middleware")
    assert CALLS == [
        ("request", "/page/template/"),
        ("view", "/page/template/"),
        ("template", "/page/template/"),
        ("response", "/page/template/"),
        ("request", "/page/fails/"),
        ("view", "/page/fails/"),
        ("exception", "/page/fails/"),
        ("response", "/page/fails/"),
    ]


def test_an_api_request_runs_none_of_them(recorded):
    assert recorded.get("/api/template/").status_code == 200
    # The wrapped middleware's handler does not get to answer for the API: Django's does (500).
    assert recorded.get("/api/fails/").status_code == 500
    assert CALLS == []


def test_only_the_hooks_the_wrapped_middleware_has_are_offered_to_django():
    wrapped = browser_only(NoHooksMiddleware)(lambda request: HttpResponse())
    hooks = ("process_view", "process_exception", "process_template_response")
    assert [hook for hook in hooks if hasattr(wrapped, hook)] == []
    assert issubclass(browser_only(NoHooksMiddleware), NoHooksMiddleware)
