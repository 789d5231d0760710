"""The ledger's invariants hold where no caller can skip them: in the services (whoever calls
them) and, on PostgreSQL, in the database itself (a raw INSERT cannot break them either)."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Account
from atm_project.problems import InvalidAmount, SameAccountTransfer
from atm_project.testing.ledger import cash_subaccount_of, ledger_snapshot
from transactions import services
from transactions.api.money import posted_answer
from transactions.models import Entry

pytestmark = pytest.mark.django_db

NOT_MOVABLE = [
    (Decimal("0"), "greater than 0"),
    (Decimal("0.00"), "greater than 0"),
    (Decimal("-5.00"), "greater than 0"),
    (Decimal("0.001"), "2 decimal places"),
    (Decimal("1000000.01"), "at most 1000000.00"),
    (Decimal("NaN"), "finite decimal"),
    (Decimal("Infinity"), "finite decimal"),
    (5.0, "finite decimal"),  # a float never reaches a balance
    (True, "finite decimal"),
]


def movements(user, account, other_account):
    """Each money-moving service, called the way any new caller might call it."""
    return {
        "deposit": lambda amount: services.deposit(
            account_number=account.number, amount=amount, actor=user
        ),
        "withdraw": lambda amount: services.withdraw(
            account_number=account.number, amount=amount, actor=user
        ),
        "transfer": lambda amount: services.transfer(
            from_account=account.number,
            to_account=other_account.number,
            amount=amount,
            actor=user,
        ),
    }


@pytest.mark.parametrize("movement", ["deposit", "withdraw", "transfer"])
@pytest.mark.parametrize(("amount", "reason"), NOT_MOVABLE)
def test_the_services_refuse_an_amount_that_cannot_move(
    user, account, other_account, settings, movement, amount, reason
):
    settings.MAX_TRANSACTION_AMOUNT = Decimal("1000000.00")
    before = ledger_snapshot()
    with pytest.raises(InvalidAmount) as refused:
        movements(user, account, other_account)[movement](amount)
    assert refused.value.errors == {"amount": [refused.value.detail]}
    assert reason in refused.value.detail
    assert ledger_snapshot() == before


def test_a_negative_transfer_cannot_pull_money_from_the_target(user, account, other_account):
    before = ledger_snapshot()
    with pytest.raises(InvalidAmount):
        services.transfer(
            from_account=account.number,
            to_account=other_account.number,
            amount=Decimal("-100.00"),
            actor=user,
        )
    assert ledger_snapshot() == before
    other_account.refresh_from_db()
    assert other_account.balance == Decimal("300.00")


def test_a_transfer_to_the_same_account_is_refused_by_the_service(user, account):
    before = ledger_snapshot()
    with pytest.raises(SameAccountTransfer) as refused:
        services.transfer(
            from_account=account.number,
            to_account=account.number,
            amount=Decimal("1.00"),
            actor=user,
        )
    assert refused.value.errors == {"to_account": ["Cannot transfer to the same account."]}
    assert ledger_snapshot() == before


def test_the_largest_amount_moves_and_is_kept_in_cents(user, account, settings):
    settings.MAX_TRANSACTION_AMOUNT = Decimal("1000.00")
    posted = services.deposit(account_number=account.number, amount=Decimal("1000"), actor=user)
    assert posted.amount == Decimal("1000.00")
    assert str(posted.amount) == "1000.00"


def test_a_posted_movement_is_rendered_without_a_query(user, account):
    """What a service hands back carries its accounts and legs: the answer (rendered, by the
    Python engine, under the movement's row locks) costs no query on either engine."""
    posted = services.withdraw(account_number=account.number, amount=Decimal("30.00"), actor=user)

    with CaptureQueriesContext(connection) as queries:
        body = posted_answer(posted)

    assert len(queries) == 0
    assert body["balance_after"] == "470.00"
    assert body["account_number"] == account.number


# --- PostgreSQL: the database refuses what the services would never write -----------------------


@pytest.fixture
def raw_sql(requires_postgres):
    """Run statements as a hand-written client would, in one transaction, then make the deferred
    triggers check at once (they otherwise run at commit, which the test's own transaction never
    reaches)."""

    def run(*statements: tuple[str, list]) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")

    return run


INSERT_TRANSACTION = (
    "INSERT INTO transactions_transaction (id, kind, status, amount, currency, description,"
    " account_id, created_at) VALUES (%s, 'deposit', 'posted', %s, %s, '', %s, now())"
)
INSERT_ENTRY = (
    "INSERT INTO transactions_entry (transaction_id, account_id, amount, balance_after, kind,"
    " created_at, counterparty_number) VALUES (%s, %s, %s, 0, 'deposit', now(), '')"
)


def transaction_with_legs(legs: list[tuple[Account, str]], *, amount="5.00") -> list[tuple]:
    """The statements inserting a deposit of `amount` in USD and these (account, amount) legs."""
    txn_id = uuid.uuid4()
    statements = [(INSERT_TRANSACTION, [txn_id, amount, "USD", legs[0][0].pk])]
    return statements + [(INSERT_ENTRY, [txn_id, leg.pk, value]) for leg, value in legs]


@pytest.fixture
def cash(account) -> Account:
    return cash_subaccount_of(account)


def test_a_balanced_raw_insert_is_accepted(raw_sql, account, cash):
    """The control: the triggers below refuse what breaks a rule, not every hand-made row."""
    raw_sql(*transaction_with_legs([(account, "5.00"), (cash, "-5.00")]))
    assert Entry.objects.filter(account=account, amount=Decimal("5.00")).exists()


def test_entries_that_do_not_sum_to_zero_are_refused(raw_sql, account, cash):
    with pytest.raises(IntegrityError, match="not double-entry"):
        raw_sql(*transaction_with_legs([(account, "5.00"), (cash, "-4.99")]))


def test_a_transaction_with_one_leg_is_refused(raw_sql, account):
    with pytest.raises(IntegrityError, match="not double-entry"):
        raw_sql(*transaction_with_legs([(account, "5.00")]))


def test_a_transaction_without_entries_is_refused(raw_sql, account):
    with pytest.raises(IntegrityError, match="not double-entry"):
        raw_sql(*transaction_with_legs([(account, "5.00")])[:1])


def test_legs_in_another_currency_are_refused(raw_sql, account, account_factory):
    euros = account_factory(currency="EUR")
    with pytest.raises(IntegrityError, match="1 in another currency"):
        raw_sql(*transaction_with_legs([(account, "5.00"), (euros, "-5.00")]))


def test_an_entry_of_zero_is_refused(raw_sql, account, cash):
    with pytest.raises(IntegrityError, match="entry_amount_not_zero"):
        raw_sql(*transaction_with_legs([(account, "0.00"), (cash, "0.00")]))


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_a_transaction_amount_must_be_positive(raw_sql, account, cash, amount):
    legs = [(account, "5.00"), (cash, "-5.00")]
    with pytest.raises(IntegrityError, match="transaction_amount_positive"):
        raw_sql(*transaction_with_legs(legs, amount=amount))


def test_an_unbalanced_entry_added_to_a_posted_transaction_is_refused(raw_sql, user, account, cash):
    posted = services.deposit(account_number=account.number, amount=Decimal("5.00"), actor=user)
    with pytest.raises(IntegrityError, match="not double-entry"):
        raw_sql((INSERT_ENTRY, [posted.pk, account.pk, "1.00"]))
