"""The account chains' MAC is plain text that the ledger's PL/pgSQL function builds too, so its
format is pinned here byte for byte (docs/design.md "Audit chains" documents it, with this very
example as a test vector)."""

import hashlib
import hmac
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from audit.models import AuditEvent
from audit.services import account_chain, account_chain_message, compute_hash, record_event

KEY = "fixed-test-key"
PREV = "ab" * 32


def documented_event() -> AuditEvent:
    return AuditEvent(
        chain="account:42",
        seq=7,
        prev_hash=PREV,
        # 05:17 in Paris is 04:17 UTC: the MAC covers UTC.
        created_at=datetime(2026, 11, 30, 5, 17, 34, 5, tzinfo=ZoneInfo("Europe/Paris")),
        action="money.deposit",
        actor_id=5,
        object_type="transactions.transaction",
        object_id="0c6f3b7e-1d2a-4c5b-9e8f-7a6b5c4d3e2f",
        ip=None,
        user_agent="ATM «Test»/1.0",
        request_id="",
        data={
            "reverses": None,
            "amount": "12.50",
            "flag": True,
            "description": "Café, 10:00=ok",
            "currency": "USD",
            "count": 3,
        },
    )


# Built by hand from the specification: each field is "<UTF-8 byte length>:<text>", or "-" for
# NULL; data is "key=value" pairs in key order, each side a field. "«", "»" and "é" are two
# bytes each in UTF-8.
DATA_TEXT = (
    "6:amount=5:12.50,5:count=1:3,8:currency=3:USD,11:description=15:Café, 10:00=ok,"
    "4:flag=4:true,8:reverses=-"
)
MESSAGE = (
    "account-chain-v1,"
    "10:account:42,"
    "1:7,"
    f"64:{PREV},"
    "32:2026-11-30T04:17:34.000005+00:00,"
    "13:money.deposit,"
    "1:5,"
    "24:transactions.transaction,"
    "36:0c6f3b7e-1d2a-4c5b-9e8f-7a6b5c4d3e2f,"
    "-,"
    "16:ATM «Test»/1.0,"
    "0:,"
    f"106:{DATA_TEXT}"
)
# The test vector for the SQL side: HMAC-SHA256 of MESSAGE under KEY.
EXPECTED_MAC = "25806f7ca289e56a93a0cd46ba129ed646b2a335fd311fdf7f583e42c276e533"


def test_the_message_is_exactly_the_documented_text():
    assert account_chain_message(documented_event()) == MESSAGE


def test_the_mac_is_hmac_sha256_of_the_utf8_message_under_the_key(settings):
    settings.AUDIT_CHAIN_KEY = KEY
    by_hand = hmac.new(KEY.encode(), MESSAGE.encode("utf-8"), hashlib.sha256).hexdigest()
    assert compute_hash(documented_event()) == by_hand == EXPECTED_MAC


@pytest.mark.parametrize("value", [{"a": 1}, ["a"], ("a",), 1.5])
def test_an_account_chain_event_with_nested_or_float_data_is_a_programming_error(db, value):
    with pytest.raises(ValueError, match="account chain"):
        record_event(action="test.nested", chain=account_chain(1), data={"bad": value})
    assert not AuditEvent.objects.exists()


@pytest.mark.django_db
def test_an_account_chain_event_round_trips_through_the_database():
    event = record_event(
        action="money.deposit",
        chain=account_chain(9),
        data={"amount": Decimal("1.50"), "reverses": None, "description": "Café"},
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.data == {"amount": "1.50", "reverses": None, "description": "Café"}
    assert compute_hash(stored) == stored.hash == event.hash
