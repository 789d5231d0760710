"""The audit chain: one function appends, nothing edits, and verification finds tampering."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from atm_project.testing.ledger import write_past_the_guards
from atm_project.testing.racing import race
from audit.models import AuditChain, AuditEvent, AuditLogIsAppendOnly
from audit.services import (
    GENESIS_HASH,
    account_chain,
    compute_hash,
    mask_card_number,
    record_event,
)
from audit.verification import Position, verify_chain
from users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _three_events():
    return [record_event(action=f"test.event{n}", data={"n": n}) for n in range(3)]


def test_events_are_chained_by_hash_in_order():
    first, second, third = _three_events()
    assert (first.seq, second.seq, third.seq) == (1, 2, 3)
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert third.prev_hash == second.hash
    stored = AuditEvent.objects.get(pk=second.pk)
    assert compute_hash(stored) == stored.hash == second.hash
    assert AuditChain.objects.get(name="bank").last_hash == third.hash


def test_event_names_actor_target_and_data():
    actor = UserFactory()
    event = record_event(
        action="account.frozen", actor=actor, target=actor, data={"amount": Decimal("1.50")}
    )
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor == actor
    assert (stored.object_type, stored.object_id) == ("users.user", str(actor.pk))
    assert stored.data == {"amount": "1.50"}


def test_secrets_are_redacted_and_card_numbers_masked():
    event = record_event(
        action="test.secrets",
        data={
            "password": "hunter2-hunter2",
            "new_password": "x",
            "pin": "2468",
            "refresh": "eyJ...",
            "access_token": "eyJ...",
            "card_number": "4000001234567899",
            "nested": [{"token": "t"}],
            "username": "alice",
        },
    )
    stored = AuditEvent.objects.get(pk=event.pk).data
    assert stored["username"] == "alice"
    assert stored["card_number"] == "•••• 7899" == mask_card_number("4000001234567899")
    for key in ("password", "new_password", "pin", "refresh", "access_token"):
        assert stored[key] == "[redacted]"
    assert stored["nested"] == [{"token": "[redacted]"}]
    assert "2468" not in str(stored) and "hunter2" not in str(stored)


@pytest.mark.parametrize("chain", ["bank", account_chain(7)])
def test_an_append_costs_three_queries_inside_the_callers_transaction(chain):
    record_event(action="test.warm", chain=chain)  # the chain's row exists from now on
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        record_event(action="test.measured", chain=chain)
    assert len(queries) == 3, [query["sql"] for query in queries]


def test_each_chain_is_numbered_and_linked_on_its_own():
    first_of_7 = record_event(action="test.a", chain=account_chain(7))
    bank = record_event(action="test.b")
    first_of_8 = record_event(action="test.c", chain=account_chain(8))
    second_of_7 = record_event(action="test.d", chain=account_chain(7))
    assert [(e.chain, e.seq) for e in (first_of_7, bank, first_of_8, second_of_7)] == [
        ("account:7", 1),
        ("bank", 1),
        ("account:8", 1),
        ("account:7", 2),
    ]
    assert first_of_7.prev_hash == first_of_8.prev_hash == bank.prev_hash == GENESIS_HASH
    assert second_of_7.prev_hash == first_of_7.hash
    rows = AuditChain.objects.values_list("name", "last_seq", "last_hash")
    assert sorted(rows) == [
        ("account:7", 2, second_of_7.hash),
        ("account:8", 1, first_of_8.hash),
        ("bank", 1, bank.hash),
    ]
    report = verify_chain()
    assert report.ok, report.problem
    assert (report.events_checked, report.chains_checked) == (4, 3)


def test_an_event_rolls_back_with_the_transaction_that_recorded_it():
    kept = record_event(action="test.kept")
    with pytest.raises(RuntimeError), transaction.atomic():
        record_event(action="test.rolled_back")
        raise RuntimeError("the recorded operation failed")
    assert list(AuditEvent.objects.values_list("action", flat=True)) == ["test.kept"]
    follower = record_event(action="test.after")
    assert follower.prev_hash == kept.hash
    assert verify_chain().ok


def test_the_orm_refuses_to_edit_or_delete_events():
    event = record_event(action="test.guarded")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.filter(pk=event.pk).update(action="test.changed")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditLogIsAppendOnly):
        event.delete()
    event.action = "test.changed"
    with pytest.raises(AuditLogIsAppendOnly):
        event.save()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEvent.objects.bulk_create([AuditEvent(id=99, action="forged")])
    assert AuditEvent.objects.get(pk=event.pk).action == "test.guarded"


def test_postgres_trigger_refuses_update_and_delete_from_any_client(requires_postgres):
    event = record_event(action="test.guarded")
    for sql in (
        "UPDATE audit_auditevent SET action = 'test.changed' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [event.pk])
    with (
        pytest.raises(DatabaseError, match="only moves forward"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE audit_auditchain SET last_seq = 0")
    assert AuditEvent.objects.get(pk=event.pk).action == "test.guarded"


def test_an_intact_chain_verifies(capsys):
    _three_events()
    call_command("verify_audit_chain")
    assert "3 events verified" in capsys.readouterr().out


def test_an_empty_chain_verifies():
    assert verify_chain().ok


def test_an_edited_event_is_named():
    _, edited, _ = _three_events()
    write_past_the_guards(
        "UPDATE audit_auditevent SET data = %s WHERE id = %s", ['{"n": 42}', edited.pk]
    )
    report = verify_chain()
    assert report.first_bad == Position("bank", edited.seq)
    assert "altered" in report.problem
    with pytest.raises(CommandError, match=f"event bank #{edited.seq}") as failure:
        call_command("verify_audit_chain")
    assert failure.value.returncode == 1


def test_an_edited_event_with_a_recomputed_hash_breaks_the_next_link():
    _, edited, following = _three_events()
    edited.action = "test.forged"
    forged_hash = compute_hash(edited)
    write_past_the_guards(
        "UPDATE audit_auditevent SET action = %s, hash = %s WHERE id = %s",
        ["test.forged", forged_hash, edited.pk],
    )
    assert verify_chain().first_bad == Position("bank", following.seq)


def test_a_deleted_event_shows_as_a_broken_link():
    _, deleted, following = _three_events()
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
    report = verify_chain()
    assert report.first_bad == Position("bank", following.seq)
    assert "deleted" in report.problem
    with pytest.raises(CommandError, match=f"event bank #{following.seq}"):
        call_command("verify_audit_chain")


def test_a_deleted_newest_event_is_detected_by_the_chain_head():
    _, _, newest = _three_events()
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [newest.pk])
    report = verify_chain()
    assert not report.ok
    assert f"#{newest.seq}" in report.problem


def test_a_lost_chain_head_is_rebuilt_from_the_last_event():
    _, _, last = _three_events()
    write_past_the_guards("DELETE FROM audit_auditchain")
    follower = record_event(action="test.after_rebuild")
    assert (follower.seq, follower.prev_hash) == (last.seq + 1, last.hash)
    assert verify_chain().ok


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("chain", ["bank", account_chain(1)])
def test_concurrent_appends_never_fork_the_chain(requires_postgres, chain):
    """On a new chain the first appends also race to create its row."""
    writers, events_each = 8, 5

    def write(n: int) -> None:
        for i in range(events_each):
            with transaction.atomic():
                record_event(action="test.concurrent", data={"writer": n, "i": i}, chain=chain)

    race(writers, write)
    report = verify_chain()
    assert report.ok, report.problem
    assert report.events_checked == AuditEvent.objects.count() == writers * events_each
    assert AuditChain.objects.get(name=chain).last_seq == writers * events_each
