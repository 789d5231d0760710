"""Anchors: the bank chain records where the account chains end (anchor_audit_chains), only
forward; verification reads and never writes."""

import re
import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from audit.models import AuditChain, AuditEvent
from audit.services import ANCHOR_ACTION, account_chain, anchor_chains, record_event
from audit.services import _record_anchor as record_anchor
from audit.verification import verify_chain

pytestmark = pytest.mark.django_db


def append(chain: str, count: int = 1) -> list[AuditEvent]:
    return [record_event(action="test.money", chain=chain) for _ in range(count)]


def anchors() -> list[dict]:
    events = AuditEvent.objects.filter(action=ANCHOR_ACTION).order_by("seq")
    return [event.data["chains"] for event in events]


def anchored_seq(chain: str) -> int:
    return AuditChain.objects.get(name=chain).anchored_seq


def test_an_anchor_records_each_account_chain_that_moved_since_the_last():
    a, b = account_chain(1), account_chain(2)
    *_, a_last = append(a, 3)
    (b_last,) = append(b)
    record_event(action="test.bank_only")

    assert anchor_chains() == 2
    assert anchors() == [{a: f"3:{a_last.hash}", b: f"1:{b_last.hash}"}]
    assert (anchored_seq(a), anchored_seq(b)) == (3, 1)

    assert anchor_chains() == 0  # nothing moved: no event
    (b_next,) = append(b)
    assert anchor_chains() == 1
    assert anchors()[-1] == {b: f"2:{b_next.hash}"}
    assert verify_chain().ok


def test_many_chains_are_anchored_in_batches_of_events():
    chains = [account_chain(pk) for pk in range(1, 6)]
    for chain in chains:
        append(chain)
    assert anchor_chains(batch_size=2) == 5
    assert [sorted(recorded) for recorded in anchors()] == [chains[:2], chains[2:4], chains[4:]]
    assert {anchored_seq(chain) for chain in chains} == {1}


def test_the_anchored_position_never_moves_backwards():
    chain = account_chain(1)
    first, _ = append(chain, 2)
    anchor_chains()
    record_anchor([(chain, 1, first.hash)])  # a slower run that read the chain earlier
    assert anchored_seq(chain) == 2


def test_the_command_anchors_and_says_how_many():
    append(account_chain(1))
    out = StringIO()
    call_command("anchor_audit_chains", stdout=out)
    assert out.getvalue().strip() == "Anchored 1 account chains."


def test_verification_writes_nothing():
    append(account_chain(1), 2)
    anchor_chains()
    with CaptureQueriesContext(connection) as queries:
        assert verify_chain().ok
    # Reads only (on PostgreSQL through server-side cursors: DECLARE ... FOR SELECT), no locks.
    writes = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\b|\bFOR UPDATE\b", re.IGNORECASE)
    assert [q["sql"] for q in queries if writes.search(q["sql"])] == []
    assert queries


def chain_rows() -> list[tuple]:
    return sorted(AuditChain.objects.values_list("name", "last_seq", "last_hash", "anchored_seq"))


@pytest.fixture
def anchored_then_moved(requires_postgres):
    """An account chain anchored at #3, then moved on to #5."""
    append(account_chain(1), 3)
    anchor_chains()
    append(account_chain(1), 2)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditchain SET last_seq = last_seq + 2",
        "UPDATE audit_auditchain SET last_seq = last_seq - 1",
        "UPDATE audit_auditchain SET anchored_seq = anchored_seq - 1",
        "UPDATE audit_auditchain SET anchored_seq = last_seq + 1",
        "UPDATE audit_auditchain SET name = 'account:99'",
        "DELETE FROM audit_auditchain",
    ],
)
def test_postgres_refuses_any_move_of_a_chain_row_but_forward(anchored_then_moved, sql):
    before = chain_rows()
    with (
        pytest.raises(DatabaseError, match="only moves forward"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert chain_rows() == before


def test_postgres_lets_an_anchor_move_forward_up_to_the_last_event(anchored_then_moved):
    with connection.cursor() as cursor:
        cursor.execute("UPDATE audit_auditchain SET anchored_seq = last_seq")
    assert anchored_seq(account_chain(1)) == 5


@pytest.mark.django_db(transaction=True)
def test_an_anchor_skips_a_chain_a_movement_holds_and_never_waits_for_it(requires_postgres):
    busy, idle = account_chain(1), account_chain(2)
    append(busy)
    append(idle)
    locked, release = threading.Event(), threading.Event()

    def movement_in_progress():
        try:
            with transaction.atomic():
                AuditChain.objects.select_for_update().get(name=busy)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=movement_in_progress)
    holder.start()
    try:
        assert locked.wait(10)
        assert anchor_chains() == 1  # at once: the idle chain only
        assert (anchored_seq(busy), anchored_seq(idle)) == (0, 1)
    finally:
        release.set()
        holder.join(10)
    assert anchor_chains() == 1  # the busy one, next run
    assert anchored_seq(busy) == 1
