"""Transactions and entries are never updated or deleted: Django guards, and PostgreSQL triggers."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, IntegrityError, connection, models, transaction

from atm_project.testing.ledger import ledger_snapshot
from transactions import services
from transactions.models import Entry, LedgerImmutableError, Transaction
from transactions.reconciliation import reconcile

pytestmark = pytest.mark.django_db


@pytest.fixture
def posted(user, account):
    return services.deposit(account_number=account.number, amount=Decimal("40"), actor=user)


def test_saving_a_changed_transaction_is_refused(posted):
    before = ledger_snapshot()
    posted.description = "edited"
    with pytest.raises(LedgerImmutableError):
        posted.save()
    posted.status = Transaction.Status.REVERSED
    with pytest.raises(LedgerImmutableError):
        posted.save(update_fields=["status"])
    assert ledger_snapshot() == before


def test_saving_a_changed_entry_is_refused(posted):
    before = ledger_snapshot()
    entry = posted.entries.first()
    entry.amount = Decimal("4000")
    with pytest.raises(LedgerImmutableError):
        entry.save()
    assert ledger_snapshot() == before


def test_deleting_a_transaction_or_an_entry_is_refused(posted):
    before = ledger_snapshot()
    with pytest.raises(LedgerImmutableError):
        posted.entries.first().delete()
    with pytest.raises(LedgerImmutableError):
        posted.delete()
    assert ledger_snapshot() == before


@pytest.mark.parametrize(
    "attempt",
    [
        lambda: Entry.objects.update(amount=Decimal("1")),
        lambda: Entry.objects.filter(amount__gt=0).delete(),
        lambda: Entry.objects.all().delete(),
        lambda: Entry.objects.bulk_update(list(Entry.objects.all()), ["amount"]),
        lambda: Transaction.objects.update(description="edited"),
        lambda: Transaction.objects.update(status="reversed"),
        lambda: Transaction.objects.all().delete(),
    ],
    ids=[
        "entry-update",
        "entry-filter-delete",
        "entry-delete-all",
        "entry-bulk-update",
        "txn-update",
        "txn-status-update",
        "txn-delete",
    ],
)
def test_queryset_updates_and_deletes_are_refused(posted, attempt):
    before = ledger_snapshot()
    # bulk_update() raises inside its own atomic block: the savepoint keeps the test usable.
    with pytest.raises(LedgerImmutableError), transaction.atomic():
        attempt()
    assert ledger_snapshot() == before


def test_the_related_managers_are_guarded_too(posted):
    with pytest.raises(LedgerImmutableError):
        posted.entries.update(amount=Decimal("1"))
    with pytest.raises(LedgerImmutableError):
        posted.account.entries.all().delete()


def test_saving_a_new_entry_over_an_existing_id_cannot_overwrite_it(posted):
    existing = posted.entries.first()
    amount = existing.amount
    forged = Entry(
        id=existing.id,
        transaction=posted,
        account=existing.account,
        amount=Decimal("9999"),
        balance_after=Decimal("9999"),
        kind=existing.kind,
        created_at=existing.created_at,
    )
    with transaction.atomic(), pytest.raises(IntegrityError):
        forged.save()
    existing.refresh_from_db()
    assert existing.amount == amount


def test_mark_reversed_is_the_one_change_and_happens_once(posted):
    assert Transaction.objects.mark_reversed(posted.pk) == 1
    assert Transaction.objects.mark_reversed(posted.pk) == 0
    posted.refresh_from_db()
    assert posted.status == Transaction.Status.REVERSED


def test_the_reverse_service_still_marks_the_original(posted):
    services.reverse(transaction_id=posted.id, actor=None, reason="test")
    posted.refresh_from_db()
    assert posted.status == Transaction.Status.REVERSED
    assert reconcile().clean


# ---------------------------------------------------------------- PostgreSQL triggers


def refused_by_the_database(sql: str, params=()) -> bool:
    """Run SQL past every Django guard; True if the database refused it."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError as error:
        assert "append-only" in str(error) or "immutable" in str(error), error
        return True
    return False


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE transactions_entry SET amount = amount * 2",
        "UPDATE transactions_entry SET balance_after = 0",
        "UPDATE transactions_entry SET created_at = created_at - interval '1 day'",
        "DELETE FROM transactions_entry",
        "UPDATE transactions_transaction SET description = 'edited'",
        "UPDATE transactions_transaction SET amount = amount + 1",
        "UPDATE transactions_transaction SET status = 'reversed', amount = amount + 1",
        "DELETE FROM transactions_transaction",
    ],
)
def test_the_database_refuses_changes_made_around_django(requires_postgres, posted, sql):
    before = ledger_snapshot()
    assert refused_by_the_database(sql)
    assert ledger_snapshot() == before


def test_the_database_refuses_a_plain_queryset_that_skips_the_guards(requires_postgres, posted):
    before = ledger_snapshot()
    for attempt in (
        lambda: models.QuerySet(Entry).update(amount=Decimal("1")),
        lambda: models.QuerySet(Entry).filter(pk__gt=0)._raw_delete(connection.alias),
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert ledger_snapshot() == before


def test_the_database_allows_only_posted_to_reversed(requires_postgres, posted):
    mark = "UPDATE transactions_transaction SET status = %s WHERE id = %s"
    assert not refused_by_the_database(mark, ["reversed", posted.id])
    assert refused_by_the_database(mark, ["posted", posted.id])  # no way back
    assert refused_by_the_database(mark, ["reversed", posted.id])  # reversed -> reversed
