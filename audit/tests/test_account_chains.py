"""Account chains: verification catches every kind of tampering with one account's trail, and
anchors on the bank chain catch a tail cut back together with its chain's row."""

import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from atm_project.testing.ledger import write_past_the_guards
from audit import verification
from audit.models import AuditEvent
from audit.services import account_chain, anchor_chains, compute_hash
from audit.verification import Position, verify_chain
from transactions import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def accounts(user, account_factory):
    """Two accounts, four money events on each one's chain (the funding deposit and three)."""
    opened = [account_factory(owner=user, balance="100.00") for _ in range(2)]
    for account in opened:
        for _ in range(3):
            deposit(account)
    return opened


@pytest.fixture
def chains(accounts):
    return [account_chain(account.pk) for account in accounts]


def deposit(account) -> None:
    services.deposit(account_number=account.number, amount=Decimal("1"), actor=account.owner)


def events_of(chain: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(chain=chain).order_by("seq"))


def broken_at(position: Position, *words: str) -> None:
    report = verify_chain()
    assert report.first_bad == position, report.problem
    for word in words:
        assert word in report.problem
    with pytest.raises(CommandError, match=f"event {position.chain} #{position.seq}") as failure:
        call_command("verify_audit_chain")
    assert failure.value.returncode == 1


def cut_tail(chain: str) -> AuditEvent:
    """Delete the chain's last event and wind its row back to the one before: the chain alone
    then looks whole."""
    *kept, last = events_of(chain)
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    set_chain_row(chain, kept[-1])
    return last


def set_chain_row(chain: str, event: AuditEvent) -> None:
    write_past_the_guards(
        "UPDATE audit_auditchain SET last_seq = %s, last_hash = %s WHERE name = %s",
        [event.seq, event.hash, chain],
    )


def move(event: AuditEvent, *, to_seq: int) -> None:
    write_past_the_guards("UPDATE audit_auditevent SET seq = %s WHERE id = %s", [to_seq, event.pk])


def test_an_intact_trail_with_anchors_verifies(chains, capsys):
    assert anchor_chains() == 2
    report = verify_chain()
    assert report.ok, report.problem
    assert report.chains_checked == 3
    call_command("verify_audit_chain")
    assert "3 chains" in capsys.readouterr().out


@pytest.fixture
def tiny_batches(monkeypatch):
    """Every batched lookup runs while events are still being streamed (on PostgreSQL through
    a server-side cursor), as on a long trail."""
    monkeypatch.setattr(verification, "_CHUNK", 2)
    monkeypatch.setattr(verification, "_BATCH", 1)
    monkeypatch.setattr(verification, "_CLAIMS_BATCH", 1)


def test_a_long_trail_is_checked_in_batches_while_streaming(chains, tiny_batches):
    anchor_chains()
    assert verify_chain().ok
    cut_tail(chains[1])
    broken_at(Position(chains[1], 4), "missing")


def test_an_edited_money_event_is_named(chains):
    edited = events_of(chains[0])[2]
    write_past_the_guards(
        "UPDATE audit_auditevent SET data = %s WHERE id = %s",
        [json.dumps({**edited.data, "amount": "1000.00"}), edited.pk],
    )
    broken_at(Position(chains[0], 3), "altered")


def test_a_deleted_middle_event_breaks_the_next_link(chains):
    deleted = events_of(chains[0])[1]
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [deleted.pk])
    broken_at(Position(chains[0], 3), "does not follow event #1")


def test_a_deleted_tail_event_is_named_by_its_chains_row(chains):
    last = events_of(chains[1])[-1]
    write_past_the_guards("DELETE FROM audit_auditevent WHERE id = %s", [last.pk])
    broken_at(Position(chains[1], 4), "row records #4", "deleted")


def test_a_tail_cut_back_with_its_row_is_caught_by_the_anchor(chains):
    anchor_chains()
    cut_tail(chains[0])
    anchor = AuditEvent.objects.get(action="audit.chains_anchored")
    broken_at(Position(chains[0], 4), "missing", f"anchor bank #{anchor.seq}", "cut back")


def test_only_events_appended_since_the_last_anchor_can_be_cut_back_unnoticed(accounts, chains):
    """The window anchoring leaves: why operators anchor every minute."""
    anchor_chains()
    deposit(accounts[0])
    cut_tail(chains[0])
    assert verify_chain().ok
    cut_tail(chains[0])  # now into what the anchor recorded
    broken_at(Position(chains[0], 4), "missing")


def test_a_chain_rewritten_with_the_key_after_an_anchor_is_caught(chains):
    """Someone holding AUDIT_CHAIN_KEY can recompute MACs and rows; the anchor keeps the old."""
    anchor_chains()
    last = events_of(chains[0])[-1]
    last.data = {**last.data, "description": "rewritten"}
    last.hash = compute_hash(last)
    write_past_the_guards(
        "UPDATE audit_auditevent SET data = %s, hash = %s WHERE id = %s",
        [json.dumps(last.data), last.hash, last.pk],
    )
    set_chain_row(chains[0], last)
    broken_at(Position(chains[0], 4), "rewritten")


def test_an_inserted_event_breaks_the_link_after_it(chains):
    """Even inserted with a valid MAC (under the real key), the next event no longer follows."""
    first, *later = events_of(chains[0])
    for event in reversed(later):
        move(event, to_seq=event.seq + 1)
    inserted = AuditEvent(
        chain=chains[0],
        seq=2,
        prev_hash=first.hash,
        created_at=first.created_at,
        action="money.deposit",
        object_type=first.object_type,
        object_id=first.object_id,
        data={**first.data, "amount": "5000.00"},
    )
    inserted.hash = compute_hash(inserted)
    inserted.save(force_insert=True)
    write_past_the_guards(
        "UPDATE audit_auditchain SET last_seq = last_seq + 1 WHERE name = %s", [chains[0]]
    )
    broken_at(Position(chains[0], 3), "does not follow event #2")


def test_two_events_swapped_are_caught(chains):
    _, second, third, _ = events_of(chains[1])
    move(second, to_seq=-1)
    move(third, to_seq=2)
    move(second, to_seq=3)
    broken_at(Position(chains[1], 2), "does not follow event #1")


def test_an_event_moved_to_another_accounts_chain_is_caught(chains):
    """Links and rows fixed up on both chains: only the MAC, which covers the chain's name and
    the seq, tells."""
    *source_kept, moved = events_of(chains[0])
    target_last = events_of(chains[1])[-1]
    write_past_the_guards(
        "UPDATE audit_auditevent SET chain = %s, seq = %s, prev_hash = %s WHERE id = %s",
        [chains[1], target_last.seq + 1, target_last.hash, moved.pk],
    )
    set_chain_row(chains[0], source_kept[-1])
    moved.chain, moved.seq = chains[1], target_last.seq + 1
    set_chain_row(chains[1], moved)
    broken_at(Position(chains[1], 5), "altered")
