"""Staff in tests: the role groups, staff users of each role, and signing them in to the admin
with the second factor included."""

import base64

import pyotp
import pytest
from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.roles import setup_roles
from users.tests.factories import UserFactory


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


def current_code(device) -> str:
    """What the staff member's authenticator app shows now: computed by pyotp, independently of
    django-otp, from the device's secret."""
    return pyotp.TOTP(base64.b32encode(device.bin_key).decode()).now()


# --- fixtures (a pytest plugin, loaded by the root conftest.py) ----------------------------------


@pytest.fixture
def roles(db):
    """The role groups exactly as `manage.py setup_roles` makes them."""
    return setup_roles()


def make_staff(username: str, group=None, **flags):
    """A staff user (password users.tests.factories.DEFAULT_PASSWORD), in `group` if given."""
    user = UserFactory(username=username, is_staff=True, **flags)
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
    """`staff_client(user)`: a browser-like client signed in to the admin as that staff user,
    second factor included."""
    return verified_staff_client
