"""Accounts get `cash_shard` (internal accounts only); the one-cash-account rule goes, so that
0005 can split each currency's cash account into sub-accounts."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_card"),
    ]

    operations = [
        migrations.AddField(
            model_name="account",
            name="cash_shard",
            field=models.PositiveSmallIntegerField(blank=True, null=True),
        ),
        migrations.RemoveConstraint(
            model_name="account",
            name="account_one_cash_account_per_currency",
        ),
    ]
