from django.core.management.base import BaseCommand, CommandError

from atm_project.progress import TerminalProgress
from audit.models import AuditEvent
from audit.verification import ChainHead, check_kept_head, newest_link, verify_chain


class Command(BaseCommand):
    help = (
        "Recompute every chain of the audit trail (the bank's and each account's) and check the "
        "anchors that record the account chains; exit 1 naming the first bad event as chain and "
        "seq. Writes nothing. --head prints the bank chain's newest link to keep elsewhere; "
        "--expect-head checks one kept earlier."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            action="store_true",
            help="Print the bank chain's newest link as ID:MAC (ID is its seq) after verifying.",
        )
        parser.add_argument(
            "--expect-head",
            metavar="ID:MAC",
            help="Exit 1 unless this link, printed earlier by --head, is still on the bank chain.",
        )

    def handle(self, *args, **options):
        expected = self._parse_kept_head(options["expect_head"])
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
        if expected is not None and (problem := check_kept_head(expected)):
            raise CommandError(
                f"Audit chain does not hold the expected head: {problem}", returncode=1
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.events_checked} events verified in "
                f"{report.chains_checked} chain{'' if report.chains_checked == 1 else 's'}."
            )
        )
        if options["head"]:
            head = newest_link()
            self.stdout.write(str(head) if head else "The trail has no events yet.")

    @staticmethod
    def _parse_kept_head(text: str | None) -> ChainHead | None:
        if text is None:
            return None
        try:
            return ChainHead.parse(text)
        except ValueError as error:
            raise CommandError(f"--expect-head: {error}", returncode=2) from error
