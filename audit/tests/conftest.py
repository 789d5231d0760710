import pytest
from django.contrib.auth.models import Group

from atm_project.testing.staff import verified_staff_client
from audit.roles import setup_roles
from users.tests.factories import UserFactory


@pytest.fixture
def roles(db):
    return setup_roles()


def _staff(username: str, group: Group | None = None, **flags):
    user = UserFactory(username=username, is_staff=True, **flags)
    if group is not None:
        user.groups.add(group)
    return user


@pytest.fixture
def superuser(db):
    return _staff("root", is_superuser=True)


@pytest.fixture
def teller(roles):
    return _staff("teller", roles["Tellers"])


@pytest.fixture
def auditor(roles):
    return _staff("auditor", roles["Auditors"])


@pytest.fixture
def staff_client():
    """A browser-like client signed in to the admin (second factor included) as the given
    staff user."""

    return verified_staff_client
