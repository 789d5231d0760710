from django.core.management.base import BaseCommand, CommandError

from atm_project.progress import TerminalProgress
from transactions.reconciliation import CHECKS, reconcile


class Command(BaseCommand):
    help = "Check every ledger invariant; print a report; exit 1 naming what is wrong."

    def handle(self, *args, **options):
        progress = TerminalProgress(self.stderr, "Checking the ledger", total=len(CHECKS))
        report = reconcile(on_progress=progress.update)
        progress.finish()
        self.stdout.write(
            f"Checked {report.accounts_checked} accounts and "
            f"{report.transactions_checked} transactions."
        )
        failed = {finding.check for finding in report.findings}
        for name, description, _ in CHECKS:
            self.stdout.write(f"  {'FAIL' if name in failed else 'ok  '} {description}")
        if report.clean:
            self.stdout.write(self.style.SUCCESS("Ledger reconciled: no discrepancies."))
            return
        for finding in report.findings:
            self.stderr.write(str(finding))
        raise CommandError(f"{len(report.findings)} discrepancies found.")
