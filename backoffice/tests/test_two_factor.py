"""Staff sign-in to the admin: a TOTP code after the password, and limits on failures."""

import re

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from atm_project.testing.commands import run_command
from atm_project.testing.staff import current_code
from audit.models import AuditEvent
from users.tests.factories import DEFAULT_PASSWORD, UserFactory
from users.totp import provision_totp

pytestmark = pytest.mark.django_db
LOGIN = "/admin/login/"


def sign_in(client: Client, username: str, password: str = DEFAULT_PASSWORD, code: str = ""):
    data = {"username": username, "password": password, "next": "/admin/"}
    if code:
        data["otp_token"] = code
    return client.post(LOGIN, data)


def signed_in(client: Client) -> bool:
    return client.get(reverse("admin:index")).status_code == 200


def test_two_factor_is_on_unless_switched_off():
    assert django_settings.STAFF_2FA is True


def test_password_alone_does_not_sign_staff_in(superuser):
    provision_totp(user=superuser)
    client = Client()
    response = sign_in(client, "root")
    assert response.status_code == 200
    assert "Please enter your OTP token" in response.content.decode()
    assert not signed_in(client)


def test_password_and_the_current_code_sign_staff_in(superuser):
    device = provision_totp(user=superuser)
    client = Client()
    response = sign_in(client, "root", code=current_code(device))
    assert response.status_code == 302
    assert signed_in(client)
    assert AuditEvent.objects.filter(action="auth.login", actor=superuser).exists()


def test_a_wrong_code_is_refused_and_audited(superuser):
    provision_totp(user=superuser)
    client = Client()
    assert sign_in(client, "root", code="000000").status_code == 200
    assert not signed_in(client)
    event = AuditEvent.objects.get(action="admin.login_failed")
    assert event.data == {"username": "root", "factor": "otp", "failures": 1}


def test_staff_without_an_authenticator_cannot_sign_in(superuser):
    client = Client()
    assert sign_in(client, "root", code="123456").status_code == 200
    assert not signed_in(client)


def test_a_session_not_verified_by_a_code_does_not_reach_the_admin(superuser):
    client = Client()
    client.force_login(superuser)  # a password session, e.g. from before 2FA was switched on
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)


def test_with_two_factor_off_the_password_is_enough(superuser, settings):
    settings.STAFF_2FA = False
    client = Client()
    assert sign_in(client, "root").status_code == 302
    assert signed_in(client)


# ---------------------------------------------------------------- sign-in limits


def test_five_failures_lock_the_username_and_ip_for_fifteen_minutes(superuser):
    device = provision_totp(user=superuser)
    client = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(django_settings.ADMIN_SIGNIN_FAILURES):
        assert sign_in(client, "root", password="wrong-guess-1").status_code == 200
    assert AuditEvent.objects.filter(action="admin.login_failed").count() == 5
    lock = AuditEvent.objects.get(action="admin.login_locked")
    assert lock.data == {"username": "root", "failures": 5, "locked_seconds": 900}

    # Even the right password and code are refused now, without being checked.
    refused = sign_in(client, "root", code=current_code(device))
    assert refused.status_code == 429
    assert 850 < int(refused["Retry-After"]) <= 900
    assert "Too many failed sign-ins" in refused.content.decode()
    assert not signed_in(client)

    # The same staff member at another desk (IP) is not locked out by the attacker.
    elsewhere = Client(REMOTE_ADDR="198.51.100.20")
    assert sign_in(elsewhere, "root", code=current_code(device)).status_code == 302


def test_the_lock_ends_after_fifteen_minutes(superuser, monkeypatch):
    from backoffice import signin_limits

    device = provision_totp(user=superuser)
    client = Client(REMOTE_ADDR="203.0.113.8")
    for _ in range(5):
        sign_in(client, "root", password="wrong-guess-1")
    assert sign_in(client, "root", code=current_code(device)).status_code == 429
    later = signin_limits._now() + django_settings.ADMIN_SIGNIN_LOCK + 1
    monkeypatch.setattr(signin_limits, "_now", lambda: later)
    assert sign_in(client, "root", code=current_code(device)).status_code == 302


def test_four_failures_do_not_lock(superuser):
    device = provision_totp(user=superuser)
    client = Client(REMOTE_ADDR="203.0.113.9")
    for _ in range(4):
        sign_in(client, "root", password="wrong-guess-1")
    assert sign_in(client, "root", code=current_code(device)).status_code == 302
    assert not AuditEvent.objects.filter(action="admin.login_locked").exists()


# ---------------------------------------------------------------- provisioning


def test_staff_totp_prints_the_uri_and_a_qr_code_once(superuser):
    output = run_command("staff_totp", "root").stdout
    uri = re.search(r"otpauth://totp/\S+", output).group(0)
    device = TOTPDevice.objects.get(user=superuser)
    assert uri == device.config_url
    assert "█" in output  # the QR code, drawn in the terminal
    with pytest.raises(CommandError, match="already has an authenticator"):
        run_command("staff_totp", "root")
    assert AuditEvent.objects.filter(action="staff.totp_provisioned").count() == 1


def test_staff_totp_reset_replaces_the_device_and_the_old_codes_stop_working(superuser):
    old = provision_totp(user=superuser)
    old_code = current_code(old)
    run_command("staff_totp", "root", "--reset")
    assert TOTPDevice.objects.filter(user=superuser).count() == 1
    new = TOTPDevice.objects.get(user=superuser)
    assert new.key != old.key
    if old_code != current_code(new):
        assert sign_in(Client(), "root", code=old_code).status_code == 200


def test_staff_totp_refuses_customers_and_unknown_users(db):
    UserFactory(username="customer")
    for username in ("customer", "nobody"):
        with pytest.raises(CommandError, match="not an active staff user"):
            run_command("staff_totp", username)


def test_seed_demo_with_admin_prints_the_demo_admins_code_the_same_each_time(db):
    first, again = (run_command("seed_demo", "--with-admin").stdout for _ in range(2))
    uri = re.compile(r"otpauth://totp/\S+")
    first, again = uri.search(first).group(0), uri.search(again).group(0)
    assert first == again
    device = TOTPDevice.objects.get(user__username="admin")
    client = Client()
    assert sign_in(client, "admin", "admin-pass-2468", current_code(device)).status_code == 302
    assert signed_in(client)
