"""Each currency has one cash sub-account per shard, shards only on internal accounts, 0..15."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0005_cash_subaccounts"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="account",
            constraint=models.UniqueConstraint(
                condition=models.Q(("kind", "internal")),
                fields=("currency", "cash_shard"),
                name="account_one_cash_subaccount_per_shard",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("cash_shard__isnull", False), ("kind", "internal")),
                    models.Q(
                        models.Q(("kind", "internal"), _negated=True),
                        ("cash_shard__isnull", True),
                    ),
                    _connector="OR",
                ),
                name="account_cash_shard_iff_internal",
            ),
        ),
        migrations.AddConstraint(
            model_name="account",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("cash_shard__isnull", True),
                    models.Q(("cash_shard__gte", 0), ("cash_shard__lt", 16)),
                    _connector="OR",
                ),
                name="account_cash_shard_in_range",
            ),
        ),
    ]
