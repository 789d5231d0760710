"""Signing staff in to the admin in tests, second factor included."""

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice


def verified_staff_client(user, client: Client | None = None) -> Client:
    """A browser-like client signed in as `user` and verified by a TOTP device, as after the
    admin's two-factor sign-in (what django_otp.login stores in the session)."""
    client = client or Client()
    device = TOTPDevice.objects.filter(user=user).first() or TOTPDevice.objects.create(
        user=user, name="test", confirmed=True
    )
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client
