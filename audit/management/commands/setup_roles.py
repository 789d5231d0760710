from django.core.management.base import BaseCommand
from django.db import transaction

from audit.roles import setup_roles


class Command(BaseCommand):
    help = "Create or update the Tellers and Auditors groups (staff roles in the admin)."

    def handle(self, *args, **options):
        with transaction.atomic():
            groups = setup_roles()
        for name, group in groups.items():
            self.stdout.write(f"{name}: {group.permissions.count()} permissions")
