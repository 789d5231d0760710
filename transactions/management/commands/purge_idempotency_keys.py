from django.core.management.base import BaseCommand

from transactions.idempotency import RETENTION, purge_expired_keys


class Command(BaseCommand):
    help = (
        "Delete Idempotency-Keys (and the answers kept under them) older than 24 hours. "
        "Run it periodically, e.g. hourly from cron."
    )

    def handle(self, *args, **options):
        deleted = purge_expired_keys()
        hours = int(RETENTION.total_seconds() // 3600)
        self.stdout.write(f"Deleted {deleted} idempotency keys older than {hours} hours.")
