"""One audit chain per account beside the bank's own: events get (chain, seq), the single chain
head becomes one AuditChain row per chain.

Every existing event is on the bank chain at seq = id, so its MAC (which covers "id": seq on that
chain) still verifies; the old head becomes the row named "bank" (rebuilt from the last event if
it was missing). `id` becomes a plain identity column, continuing after the highest existing id.
On PostgreSQL the append-only trigger of audit_auditevent is switched off for the one UPDATE that
fills `seq` and back on right after (same transaction), and the chain rows get the forward-only
trigger the old head had, extended to anchors: a row moves one event forward, or its
anchored_seq moves forward up to its last event; nothing else.
"""

from django.db import migrations, models

from atm_project.migration_sql import postgresql_sql

GENESIS_HASH = "0" * 64


def move_head_to_bank_chain(apps, schema_editor):
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    AuditEvent = apps.get_model("audit", "AuditEvent")
    AuditChain = apps.get_model("audit", "AuditChain")
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None:
        last_seq, last_hash = head.last_event_id, head.last_hash
    else:
        last = AuditEvent.objects.order_by("-id").values("id", "hash").first()
        last_seq, last_hash = (last["id"], last["hash"]) if last else (0, GENESIS_HASH)
    AuditChain.objects.create(name="bank", last_seq=last_seq, last_hash=last_hash)


def move_bank_chain_to_head(apps, schema_editor):
    AuditChain = apps.get_model("audit", "AuditChain")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    bank = AuditChain.objects.filter(name="bank").first()
    if bank is not None:
        AuditChainHead.objects.create(pk=1, last_event_id=bank.last_seq, last_hash=bank.last_hash)


DROP_HEAD_TRIGGER = """
DROP TRIGGER IF EXISTS audit_chain_head_forward_only ON audit_auditchainhead;
DROP FUNCTION IF EXISTS audit_chain_head_forward_only();
"""

# The function and trigger of migration 0002, as they were (for migrating backwards).
CREATE_HEAD_TRIGGER = """
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

FILL_SEQ = "UPDATE audit_auditevent SET seq = id"
FILL_SEQ_POSTGRESQL = f"""
ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only;
{FILL_SEQ};
ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only;
"""


def fill_seq(apps, schema_editor):
    # Raw SQL: the ORM guards of AuditEvent refuse updates, and on PostgreSQL so does the trigger
    # (switched off only around this statement, inside the migration's transaction).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FILL_SEQ_POSTGRESQL, params=None)
    else:
        schema_editor.execute(FILL_SEQ, params=None)


# An identity column added to a filled table starts at 1: move it past the existing ids.
RESTART_IDS = """
SELECT setval(pg_get_serial_sequence('audit_auditevent', 'id'),
              COALESCE(MAX(id), 0) + 1, false)
FROM audit_auditevent
"""


def restart_ids(apps, schema_editor):
    # SQLite needs nothing: its AUTOINCREMENT continues after the highest id copied in.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(RESTART_IDS, params=None)

CHAIN_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_chain_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.name = OLD.name AND (
        -- an append: one event further, the anchored position unchanged
        (NEW.last_seq = OLD.last_seq + 1 AND NEW.anchored_seq = OLD.anchored_seq)
        -- an anchor recorded the chain: anchored_seq moves forward, up to the last event
        OR (NEW.last_seq = OLD.last_seq AND NEW.last_hash = OLD.last_hash
            AND NEW.anchored_seq BETWEEN OLD.anchored_seq AND NEW.last_seq)
    ) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'an audit chain only moves forward: % of chain % refused', TG_OP, OLD.name
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_chain_forward_only
    BEFORE UPDATE OR DELETE ON audit_auditchain
    FOR EACH ROW EXECUTE FUNCTION audit_chain_forward_only();
"""

DROP_CHAIN_TRIGGER = """
DROP TRIGGER IF EXISTS audit_chain_forward_only ON audit_auditchain;
DROP FUNCTION IF EXISTS audit_chain_forward_only();
"""


class Migration(migrations.Migration):

    dependencies = [
        ("audit", "0003_staff_permissions_four_eyes"),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditChain",
            fields=[
                ("name", models.CharField(max_length=40, primary_key=True, serialize=False)),
                ("last_seq", models.BigIntegerField(default=0)),
                ("last_hash", models.CharField(max_length=64)),
                ("anchored_seq", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.RunPython(move_head_to_bank_chain, move_bank_chain_to_head),
        postgresql_sql(DROP_HEAD_TRIGGER, CREATE_HEAD_TRIGGER),
        migrations.DeleteModel(name="AuditChainHead"),
        migrations.AddField(
            model_name="auditevent",
            name="chain",
            field=models.CharField(default="bank", max_length=40),
        ),
        migrations.AddField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(null=True),
        ),
        migrations.RunPython(fill_seq, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditevent",
            name="seq",
            field=models.BigIntegerField(),
        ),
        migrations.AlterField(
            model_name="auditevent",
            name="id",
            field=models.BigAutoField(primary_key=True, serialize=False),
        ),
        migrations.RunPython(restart_ids, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name="auditevent",
            constraint=models.UniqueConstraint(
                fields=("chain", "seq"), name="audit_event_chain_seq"
            ),
        ),
        postgresql_sql(CHAIN_TRIGGER, DROP_CHAIN_TRIGGER),
    ]
