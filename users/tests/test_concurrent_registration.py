"""Racing registrations of one new name: exactly one wins, the rest get the usual 400."""

import pytest
from rest_framework.test import APIClient

from atm_project.testing.racing import race
from users.models import User

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_concurrent_registrations_of_one_name_create_one_user(requires_postgres, settings):
    settings.RATELIMIT_ENABLE = False  # eight sign-ups from one address would be throttled

    def register(index: int):
        body = {"username": "racer", "password": f"blue-otter-74{index:02d}"}
        return APIClient().post("/api/v1/auth/register/", body, format="json")

    responses = race(8, register, return_exceptions=True)
    statuses = sorted(getattr(r, "status_code", repr(r)) for r in responses)
    assert statuses == [201] + [400] * 7, statuses
    for response in responses:
        if response.status_code == 400:
            assert response.json()["errors"] == {"username": ["This username is taken."]}
    assert User.objects.filter(username="racer").count() == 1
