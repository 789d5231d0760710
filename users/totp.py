"""Staff second factor: one TOTP device per staff member (django-otp), shown once as a URI and
a QR code for an authenticator app."""

import io

import qrcode
from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from atm_project.problems import DomainError
from audit.services import record_event

DEVICE_NAME = "authenticator"


class TOTPAlreadyProvisioned(DomainError):
    status, code, title = 409, "totp_already_provisioned", "Authenticator already set up"


def provision_totp(*, user, replace: bool = False) -> TOTPDevice:
    """Give `user` a new confirmed TOTP device; refused if they have one, unless `replace`
    (a lost phone), which deletes the old one so its codes stop working at once."""
    with transaction.atomic():
        existing = TOTPDevice.objects.select_for_update().filter(user=user)
        if existing.exists() and not replace:
            raise TOTPAlreadyProvisioned(
                f"{user.username} already has an authenticator; --reset replaces it."
            )
        replaced = existing.count()
        existing.delete()
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=True)
        record_event(
            action="staff.totp_provisioned",
            target=user,
            data={"username": user.username, "replaced": replaced},
        )
    return device


def demo_totp(*, user) -> TOTPDevice:
    """The demo admin's device: created once, then the same one every time (it is printed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    return device or provision_totp(user=user)


def describe_totp(device: TOTPDevice) -> str:
    """The provisioning URI and the same URI as a QR code drawn in text, for a terminal."""
    code = qrcode.QRCode(border=1)
    code.add_data(device.config_url)
    drawing = io.StringIO()
    code.print_ascii(out=drawing, invert=True)
    return f"Provisioning URI: {device.config_url}\n{drawing.getvalue()}"
