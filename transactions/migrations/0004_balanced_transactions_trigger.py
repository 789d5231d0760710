"""On PostgreSQL, the database itself refuses a transaction that is not double-entry.

Checked at commit (a deferred constraint trigger, as django-hordak checks its legs), because the
services write a transaction first and its entries right after: every transaction that commits
has at least two entries, they sum to zero, and each is on an account of the transaction's
currency. The trigger fires on inserting a transaction (one with no entries is refused too) and
on inserting an entry. The column checks (transaction amount > 0, no entry of 0) are
CheckConstraints on both databases. SQLite has no such trigger: `manage.py reconcile` checks the
same rule there (transactions.reconciliation).
"""

from django.db import migrations

from atm_project.migration_sql import postgresql_sql

CREATE = """
CREATE FUNCTION transactions_require_double_entry(checked_id uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    legs integer;
    total numeric;
    foreign_legs integer;
BEGIN
    SELECT count(*),
           coalesce(sum(entry.amount), 0),
           count(*) FILTER (WHERE account.currency <> txn.currency)
      INTO legs, total, foreign_legs
      FROM transactions_transaction txn
      LEFT JOIN transactions_entry entry ON entry.transaction_id = txn.id
      LEFT JOIN accounts_account account ON account.id = entry.account_id
     WHERE txn.id = checked_id;
    IF legs < 2 OR total <> 0 OR foreign_legs > 0 THEN
        RAISE EXCEPTION
            'transaction % is not double-entry: % entries summing to %, % in another currency',
            checked_id, legs, total, foreign_legs
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$;

CREATE FUNCTION transactions_check_inserted_transaction() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM transactions_require_double_entry(NEW.id);
    RETURN NULL;
END;
$$;

CREATE FUNCTION transactions_check_inserted_entry() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM transactions_require_double_entry(NEW.transaction_id);
    RETURN NULL;
END;
$$;

CREATE CONSTRAINT TRIGGER transactions_transaction_double_entry
AFTER INSERT ON transactions_transaction
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION transactions_check_inserted_transaction();

CREATE CONSTRAINT TRIGGER transactions_entry_double_entry
AFTER INSERT ON transactions_entry
DEFERRABLE INITIALLY DEFERRED
FOR EACH ROW EXECUTE FUNCTION transactions_check_inserted_entry();
"""

DROP = """
DROP TRIGGER IF EXISTS transactions_entry_double_entry ON transactions_entry;
DROP TRIGGER IF EXISTS transactions_transaction_double_entry ON transactions_transaction;
DROP FUNCTION IF EXISTS transactions_check_inserted_entry();
DROP FUNCTION IF EXISTS transactions_check_inserted_transaction();
DROP FUNCTION IF EXISTS transactions_require_double_entry(uuid);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0003_ledger_immutability_triggers"),
        ("accounts", "0003_card"),
    ]

    operations = [
        postgresql_sql(CREATE, DROP),
    ]
