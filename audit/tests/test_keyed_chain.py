"""The chain is keyed (HMAC under AUDIT_CHAIN_KEY) and anchored (--head / --expect-head)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from atm_project.testing.ledger import write_past_the_guards
from audit.models import AuditEvent
from audit.services import GENESIS_HASH, compute_hash, record_event
from audit.verification import Position, verify_chain

pytestmark = pytest.mark.django_db


def three_events():
    return [record_event(action=f"test.event{n}", data={"n": n}) for n in range(3)]


def rehash_whole_chain_with(key: str, settings) -> None:
    """An intruder with write access edits an event and re-chains everything after it, with
    every link recomputed, but without the real key."""
    real_key = settings.AUDIT_CHAIN_KEY
    settings.AUDIT_CHAIN_KEY = key
    write_past_the_guards(
        "UPDATE audit_auditevent SET action = %s WHERE chain = 'bank' AND seq = 2", ["test.forged"]
    )
    previous = GENESIS_HASH
    with connection.cursor() as cursor:
        for event in AuditEvent.objects.order_by("seq"):
            event.prev_hash = previous
            event.hash = compute_hash(event)
            cursor.execute(
                "UPDATE audit_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                [event.prev_hash, event.hash, event.pk],
            )
            previous = event.hash
        cursor.execute("UPDATE audit_auditchain SET last_hash = %s WHERE name = 'bank'", [previous])
    settings.AUDIT_CHAIN_KEY = real_key


def test_a_chain_rehashed_without_the_key_does_not_verify(settings):
    three_events()
    assert verify_chain().ok
    rehash_whole_chain_with("a-guess-at-the-key", settings)
    report = verify_chain()
    assert not report.ok
    assert report.first_bad == Position("bank", 1)


def test_the_links_are_macs_under_the_key(settings):
    event = three_events()[0]
    settings.AUDIT_CHAIN_KEY = "another-key"
    assert compute_hash(event) != event.hash


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def test_head_prints_the_newest_link_and_expect_head_accepts_it():
    newest = three_events()[-1]
    printed = verify("--head").splitlines()[-1]
    assert printed == f"{newest.seq}:{newest.hash}"
    record_event(action="test.later")
    assert "intact" in verify("--expect-head", printed)


def test_expect_head_fails_once_that_link_is_cut_off():
    events = three_events()
    anchor = f"{events[-1].seq}:{events[-1].hash}"
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [events[-1].pk])
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE audit_auditchain SET last_seq = %s, last_hash = %s WHERE name = 'bank'",
            [events[-2].seq, events[-2].hash],
        )
    assert verify_chain().ok  # cut back cleanly: the chain alone cannot tell
    with pytest.raises(CommandError, match="truncated") as failure:
        verify("--expect-head", anchor)
    assert failure.value.returncode == 1


def test_expect_head_fails_when_the_link_was_rewritten():
    event = three_events()[-1]
    with pytest.raises(CommandError, match="rewritten") as failure:
        verify("--expect-head", f"{event.seq}:{'0' * 64}")
    assert failure.value.returncode == 1


def test_a_malformed_expected_head_is_refused():
    with pytest.raises(CommandError, match="ID:MAC"):
        verify("--expect-head", "yesterday")
