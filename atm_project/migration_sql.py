"""SQL that only PostgreSQL runs (triggers, functions), for migrations of every app.

SQLite has no PL/pgSQL; there the same rules are kept by Django's guards and `manage.py
reconcile`, as each migration's docstring says."""

from django.db import migrations


def postgresql_sql(create: str, drop: str) -> migrations.RunPython:
    """A migration operation running `create` forwards and `drop` backwards, on PostgreSQL only."""
    return migrations.RunPython(_on_postgresql(create), _on_postgresql(drop), elidable=False)


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            # No params: the SQL holds literal % signs (RAISE formats), not placeholders.
            schema_editor.execute(sql, params=None)

    return run
