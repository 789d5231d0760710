"""The bank's cash of a currency becomes 16 internal sub-accounts (accounts.models.CASH_SUBACCOUNTS).

The existing cash account of each currency becomes shard 0 and keeps its number, balance and
entries; shards 1..15 are created empty, under random 10-digit Luhn numbers like every account.
A currency that has customer accounts but (somehow) no cash account gets all 16. The number of
shards is frozen here on purpose: the sub-accounts exist in the database, so changing
CASH_SUBACCOUNTS needs a migration like this one.

Three migrations (0004 the column, 0005 the rows, 0006 the constraints), each one transaction:
on PostgreSQL an index cannot be built in the transaction that just inserted or deleted rows with
(deferred) foreign keys, forwards or backwards.
"""

import secrets

from django.db import migrations

from accounts.numbers import luhn_check_digit

SHARDS = 16


def _fresh_number(Account) -> str:
    while True:
        body = str(secrets.randbelow(9 * 10**8) + 10**8)
        number = body + luhn_check_digit(body)
        if not Account.objects.filter(number=number).exists():
            return number


def split_cash_accounts(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    currencies = Account.objects.order_by().values_list("currency", flat=True).distinct()
    for currency in sorted(set(currencies)):
        cash = Account.objects.filter(kind="internal", currency=currency)
        cash.update(cash_shard=0)
        for shard in range(1 if cash.exists() else 0, SHARDS):
            Account.objects.create(
                number=_fresh_number(Account),
                owner=None,
                kind="internal",
                currency=currency,
                cash_shard=shard,
            )


def merge_cash_accounts(apps, schema_editor):
    """Backwards only while shards 1..15 never moved money: their entries cannot be undone."""
    Account = apps.get_model("accounts", "Account")
    extra = Account.objects.filter(kind="internal", cash_shard__gt=0)
    if extra.filter(entries__isnull=False).exists():
        raise RuntimeError("cash sub-accounts 1..15 hold entries: they cannot be merged back")
    extra.delete()
    Account.objects.filter(kind="internal").update(cash_shard=None)


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0004_account_cash_shard"),
        # Entries name accounts: the backwards step checks that the new shards have none.
        ("transactions", "0005_holds"),
    ]

    operations = [
        migrations.RunPython(split_cash_accounts, merge_cash_accounts),
    ]
