import base64

import pyotp
import pytest
from django.test import Client

# The staff fixtures (roles, teller, supervisor, second_supervisor, auditor, superuser,
# staff_client) come from atm_project/testing/staff.py, shared with audit's tests.


@pytest.fixture
def browser_client():
    return Client


def current_code(device) -> str:
    """What the staff member's authenticator app shows now: computed by pyotp, independently of
    django-otp, from the device's secret."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()
