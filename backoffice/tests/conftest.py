import base64

import pyotp
import pytest
from django.test import Client

from atm_project.testing.staff import verified_staff_client
from audit.roles import setup_roles
from users.tests.factories import DEFAULT_PASSWORD, UserFactory


@pytest.fixture
def roles(db):
    return setup_roles()


def make_staff(username: str, group=None, **flags):
    user = UserFactory(username=username, is_staff=True, **flags)
    user.set_password(DEFAULT_PASSWORD)
    user.save(update_fields=["password"])
    if group is not None:
        user.groups.add(group)
    return user


@pytest.fixture
def teller(roles):
    return make_staff("teller", roles["Tellers"])


@pytest.fixture
def supervisor(roles):
    return make_staff("supervisor", roles["Supervisors"])


@pytest.fixture
def second_supervisor(roles):
    return make_staff("supervisor2", roles["Supervisors"])


@pytest.fixture
def auditor(roles):
    return make_staff("auditor", roles["Auditors"])


@pytest.fixture
def superuser(db):
    return make_staff("root", is_superuser=True)


@pytest.fixture
def staff_client():
    return verified_staff_client


@pytest.fixture
def browser_client():
    return Client


def current_code(device) -> str:
    """What the staff member's authenticator app shows now: computed by pyotp, independently of
    django-otp, from the device's secret."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()
