"""An expired card answers exactly like a wrong PIN until the right PIN has been given."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import TEST_PIN, issue_test_card

pytestmark = pytest.mark.django_db

CARD = "/api/v1/auth/card/"


def sign_in(card_number: str, pin: str):
    return APIClient().post(CARD, {"card_number": card_number, "pin": pin}, format="json")


def answer(response) -> tuple:
    body = response.json()
    return response.status_code, body["code"], body["title"], body["detail"]


def test_an_expired_card_with_a_wrong_pin_answers_like_a_wrong_pin(account):
    expired = issue_test_card(account, expires_on=timezone.localdate() - timedelta(days=1))
    valid = issue_test_card(account)
    assert answer(sign_in(expired.number, "9753")) == answer(sign_in(valid.number, "9753"))
    expired.refresh_from_db()
    assert expired.failed_attempts == 1  # counted like any wrong PIN


def test_the_right_pin_learns_that_the_card_has_expired(account):
    expired = issue_test_card(account, expires_on=timezone.localdate() - timedelta(days=1))
    status, code, _, detail = answer(sign_in(expired.number, TEST_PIN))
    assert (status, code) == (401, "authentication_failed")
    assert "expired" in detail
