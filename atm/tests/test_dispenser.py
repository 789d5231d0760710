"""The web ATM's simulated cash dispenser and `manage.py atm_fault`."""

from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from accounts.tests.factories import issue_test_card
from atm.models import DispenserFault
from audit.models import AuditEvent

pytestmark = pytest.mark.django_db

DISPENSE = "/atm/dispense/"


@pytest.fixture
def atm(api_client, account) -> APIClient:
    card = issue_test_card(account)
    signed_in = api_client.post(
        "/api/v1/auth/card/", {"card_number": card.number, "pin": "2468"}, format="json"
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {signed_in.json()['access']}")
    return client


def atm_fault(*args) -> str:
    out = StringIO()
    call_command("atm_fault", *args, stdout=out)
    return out.getvalue()


def test_the_dispenser_pays_out_when_no_fault_is_armed(atm):
    response = atm.post(DISPENSE)
    assert (response.status_code, response.json()) == (200, {"dispensed": True})


def test_an_armed_fault_fails_exactly_the_next_dispense(atm):
    assert "will fail" in atm_fault("--next-dispense", "fail")

    failed = atm.post(DISPENSE)
    after = atm.post(DISPENSE, format="json")

    assert failed.json() == {"dispensed": False, "fault": "dispense_failed"}
    assert after.json() == {"dispensed": True}
    assert [
        e.action for e in AuditEvent.objects.filter(action__startswith="atm.").order_by("id")
    ] == [
        "atm.fault_armed",
        "atm.dispense_failed",
    ]


def test_a_fault_can_be_disarmed_and_arming_twice_arms_one(atm):
    atm_fault("--next-dispense", "fail")
    atm_fault("--next-dispense", "fail")
    assert DispenserFault.objects.count() == 1
    assert "disarmed" in atm_fault("--next-dispense", "ok")
    assert "No fault" in atm_fault("--next-dispense", "ok")
    assert atm.post(DISPENSE).json() == {"dispensed": True}


def test_a_fault_at_another_terminal_does_not_touch_the_web_atm(atm):
    atm_fault("--next-dispense", "fail", "--terminal", "lobby-2")
    assert atm.post(DISPENSE).json() == {"dispensed": True}
    assert DispenserFault.objects.filter(terminal="lobby-2").exists()


def test_only_an_atm_session_reaches_the_dispenser(api_client, auth_client):
    atm_fault("--next-dispense", "fail")
    assert api_client.post(DISPENSE).status_code == 401
    customer = auth_client.post(DISPENSE)
    assert customer.status_code == 403
    assert customer.json()["code"] == "permission_denied"
    assert DispenserFault.objects.exists()  # nobody but an ATM used the fault up
