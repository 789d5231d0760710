"""On PostgreSQL, the database itself refuses UPDATE and DELETE of audit events.

The chain head may only move forward one event at a time. The ORM guards in audit.models stop mistakes in this code base; the trigger stops everyone else
(a shell, a script, another service with the same credentials). TRUNCATE stays possible: the test
suite flushes tables with it, and it needs a table owner's privileges anyway. On SQLite there is
no equivalent worth having; verify_audit_chain detects tampering on both databases.
"""

from django.db import migrations

from atm_project.migration_sql import postgresql_sql

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

-- The head only ever moves forward one event at a time, so deleting the newest events and
-- winding the head back to hide it is refused as well.
CREATE OR REPLACE FUNCTION audit_chain_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.last_event_id <> OLD.last_event_id + 1 THEN
        RAISE EXCEPTION 'the audit chain head only moves forward: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_chain_head_forward_only
    BEFORE UPDATE OR DELETE ON audit_auditchainhead
    FOR EACH ROW EXECUTE FUNCTION audit_chain_head_forward_only();
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_chain_head_forward_only();
DROP TRIGGER IF EXISTS audit_event_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [postgresql_sql(TRIGGER_SQL, DROP_SQL)]
