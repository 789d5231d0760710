from django.core.management.base import BaseCommand, CommandError

from atm_project.progress import TerminalProgress
from audit.models import AuditEvent
from audit.verification import verify_chain


class Command(BaseCommand):
    help = "Recompute the audit trail's hash chain; exit 1 naming the first bad event."

    def handle(self, *args, **options):
        progress = TerminalProgress(
            self.stderr, "Verifying audit events", total=AuditEvent.objects.count()
        )
        report = verify_chain(on_progress=progress.update)
        progress.finish()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken after {report.events_checked} events: {report.problem}",
                returncode=1,
            )
        self.stdout.write(
            self.style.SUCCESS(f"Audit chain intact: {report.events_checked} events verified.")
        )
