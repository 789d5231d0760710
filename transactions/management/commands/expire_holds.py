from django.core.management.base import BaseCommand

from transactions.services import expire_holds


class Command(BaseCommand):
    help = (
        "Record as expired (one audit event each) every pending hold past its expires_at. The "
        "money of such a hold is available from expires_at on whether or not this runs: it only "
        "keeps reports and the audit trail current. Run it periodically, e.g. every few minutes."
    )

    def handle(self, *args, **options):
        recorded = expire_holds()
        self.stdout.write(f"Recorded {recorded} expired holds.")
