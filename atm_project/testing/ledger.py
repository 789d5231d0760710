"""What tests compare before and after a request: the ledger, the accounts and the cards.

    before = ledger_snapshot()
    assert_problem(client.post(url, bad_body, format="json"), 400, "validation_error")
    assert ledger_snapshot() == before   # a refused request changes nothing

and the tool for writing where no request may: `write_past_the_guards`.
"""

from decimal import Decimal

from django.db import connection

from accounts.models import Account, Card
from accounts.services import cash_shard_of
from transactions.models import Entry, Hold, Transaction


def ledger_snapshot() -> dict:
    """Every row a refused request or a refused edit must leave as it was, as stored."""
    return {
        "accounts": sorted(
            Account.objects.values_list("number", "owner_id", "status", "balance", "kind")
        ),
        "transactions": sorted(
            Transaction.objects.values_list("id", "kind", "status", "amount", "description")
        ),
        "entries": sorted(
            Entry.objects.values_list(
                "id", "transaction_id", "account_id", "amount", "balance_after"
            )
        ),
        "cards": sorted(
            Card.objects.values_list("number", "account_id", "status", "failed_attempts")
        ),
        "holds": sorted(
            Hold.objects.values_list("id", "account_id", "status", "amount", "captured_amount")
        ),
    }


def balance_of(account: Account) -> Decimal:
    """The balance as stored now (the instance may be stale)."""
    account.refresh_from_db()
    return account.balance


def cash_subaccount_of(account: Account) -> Account:
    """The bank's cash sub-account that takes this customer account's deposits and withdrawals."""
    return Account.objects.get(
        kind=Account.Kind.INTERNAL, currency=account.currency, cash_shard=cash_shard_of(account)
    )


def write_past_the_guards(sql: str, params=()) -> None:
    """Run SQL as someone at a database console would: past Django's guards and, on PostgreSQL,
    past the triggers too (switched off until the end of the test's transaction)."""
    switch_triggers_off()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def switch_triggers_off() -> None:
    """On PostgreSQL, what someone owning the tables could do: write with every trigger off
    (append-only guards, the double-entry check) until the end of the test's transaction.
    Rows already written are checked first, so only what follows escapes the triggers."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET LOCAL session_replication_role = replica")
