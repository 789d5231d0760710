"""Deployment settings, response headers and request limits (OWASP API8, misconfiguration)."""

import json
import re
import secrets

import pytest
from django.test import override_settings

from atm_project.testing.live_server import run_manage
from atm_project.testing.problems import assert_problem
from transactions import services as ledger

pytestmark = pytest.mark.django_db

ATM_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)


@pytest.fixture
def manage(tmp_path):
    """`manage(*args, **env)`: manage.py with the production settings in a child process; these
    commands read settings only, so the database is a file they never open."""
    unused_database = f"sqlite:///{tmp_path / 'unused.sqlite3'}"
    return lambda *args, **env: run_manage(unused_database, *args, env=env)


def production_env() -> dict:
    return {"DJANGO_HTTPS": "1", "DJANGO_SECRET_KEY": secrets.token_urlsafe(64)}


# --- DJANGO_HTTPS -------------------------------------------------------------------------------


def test_check_deploy_is_clean_with_the_production_environment(manage):
    done = manage("check", "--deploy", "--fail-level", "WARNING", **production_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_check_deploy_fails_without_https(manage):
    # The control: the check does look at these settings, so the clean run above means something.
    done = manage("check", "--deploy", "--fail-level", "WARNING", DJANGO_HTTPS="0")
    assert done.returncode != 0
    assert "security.W004" in done.stderr + done.stdout  # no HSTS


def test_https_switches_on_secure_cookies_hsts_redirect_and_the_proxy_header(manage):
    script = (
        "import json; from django.conf import settings as s; print(json.dumps({name: "
        "getattr(s, name) for name in ['SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', "
        "'SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
        "'SECURE_SSL_REDIRECT', 'SECURE_PROXY_SSL_HEADER']}))"
    )
    done = manage("shell", "-c", script, **production_env())
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


HTTPS_SETTINGS = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
}


@override_settings(**HTTPS_SETTINGS)
def test_behind_tls_plain_http_is_redirected_and_https_gets_hsts(client):
    plain = client.get("/api/v1/accounts/")
    assert plain.status_code == 301
    assert plain["Location"].startswith("https://")

    secure = client.get("/api/v1/accounts/", HTTP_X_FORWARDED_PROTO="https")
    assert secure.status_code == 401
    assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@override_settings(**HTTPS_SETTINGS)
def test_behind_tls_the_health_check_answers_plain_http(client):
    assert client.get("/healthz").status_code == 200


# --- headers on every response ------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/v1/accounts/", "/api/v1/nowhere/", "/healthz", "/atm/", "/admin/login/", "/api/schema/"],
)
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_the_web_atm_has_a_strict_content_security_policy(client):
    response = client.get("/atm/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == ATM_CSP


def test_the_web_atm_page_needs_nothing_the_policy_forbids(client):
    """No inline script, style or handler, nothing from another origin: the strict policy above
    would block it, so the page must not rely on any."""
    html = client.get("/atm/").content.decode()
    for tag in re.findall(r"<script\b[^>]*>", html, re.IGNORECASE):
        assert re.search(r"\bsrc=\"/static/", tag), tag
    assert not re.search(r"<script\b[^>]*>\s*[^<\s]", html), "inline script"
    assert "<style" not in html.lower()
    assert not re.search(r"\sstyle=", html, re.IGNORECASE)
    assert not re.search(r"\son[a-z]+=", html, re.IGNORECASE)
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "a resource from another origin"


def test_api_responses_forbid_framing_and_active_content_and_caching(auth_client, account):
    for response in (
        auth_client.get(f"/api/v1/accounts/{account.number}/balance/"),
        auth_client.get("/api/v1/accounts/999999999999/"),
    ):
        assert response["Content-Security-Policy"].startswith("default-src 'none';")
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert response["Cache-Control"] == "no-store"


# --- request and page size limits --------------------------------------------------------------


def test_an_oversized_api_body_is_413_before_it_is_read(auth_client, account, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    path = f"/api/v1/accounts/{account.number}/deposit/"
    response = auth_client.post(path, {"amount": "1.00", "description": "x" * 2000}, format="json")
    assert_problem(response, 413, "payload_too_large")
    account.refresh_from_db()
    assert str(account.balance) == "500.00"
    # Just under the cap is read and served as usual.
    fits = auth_client.post(path, {"amount": "1.00", "description": "small"}, format="json")
    assert fits.status_code == 201


def test_the_default_body_cap_is_64_kib():
    from atm_project import settings as production

    assert production.DATA_UPLOAD_MAX_MEMORY_SIZE == 64 * 1024


def test_pages_are_capped_at_100(auth_client, account):
    for _ in range(101):
        ledger.deposit(account_number=account.number, amount=1, actor=account.owner)
    path = f"/api/v1/accounts/{account.number}/transactions/"
    page = auth_client.get(path, {"limit": 1000}).json()
    assert len(page["results"]) == 100
    assert page["next"]
    assert auth_client.get(path, {"limit": 0}).status_code == 400
