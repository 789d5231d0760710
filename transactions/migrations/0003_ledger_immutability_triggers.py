"""On PostgreSQL, the database itself refuses to change the ledger (README "Immutability").

Django's model and queryset guards stop mistakes in the application; these triggers also stop a
hand-written UPDATE or DELETE in psql or any other client. Entries can only be inserted. A
transaction can only be inserted and then have its status changed from 'posted' to 'reversed',
every other column unchanged (compared as JSON minus `status`, so columns added later are covered
too). TRUNCATE fires no row trigger, so test teardown (which flushes with TRUNCATE) still works;
TRUNCATE needs table ownership, which the application role should not have in production.
SQLite has no such triggers; the Django guards are its protection.
"""

from django.db import migrations

from atm_project.migration_sql import postgresql_sql

CREATE = """
CREATE FUNCTION transactions_refuse_entry_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only: % of entry % refused', TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER transactions_entry_append_only
BEFORE UPDATE OR DELETE ON transactions_entry
FOR EACH ROW EXECUTE FUNCTION transactions_refuse_entry_change();

CREATE FUNCTION transactions_guard_transaction_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.status = 'posted' AND NEW.status = 'reversed'
       AND (to_jsonb(NEW) - 'status') = (to_jsonb(OLD) - 'status') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'transactions are immutable except posted -> reversed: % of % refused',
        TG_OP, OLD.id
        USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER transactions_transaction_append_only
BEFORE UPDATE OR DELETE ON transactions_transaction
FOR EACH ROW EXECUTE FUNCTION transactions_guard_transaction_change();
"""

DROP = """
DROP TRIGGER IF EXISTS transactions_transaction_append_only ON transactions_transaction;
DROP FUNCTION IF EXISTS transactions_guard_transaction_change();
DROP TRIGGER IF EXISTS transactions_entry_append_only ON transactions_entry;
DROP FUNCTION IF EXISTS transactions_refuse_entry_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("transactions", "0002_initial"),
    ]

    operations = [
        postgresql_sql(CREATE, DROP),
    ]
