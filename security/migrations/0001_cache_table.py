"""Creates the database cache table, so every database that is migrated (the test databases
included) has it; `manage.py createcachetable` is idempotent, so `make run` calling it too is
harmless."""

from django.core.management import call_command
from django.db import migrations


def create_cache_table(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = []

    operations = [
        migrations.RunPython(create_cache_table, migrations.RunPython.noop, elidable=False),
    ]
