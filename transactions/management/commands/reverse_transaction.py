from django.core.management.base import BaseCommand, CommandError

from atm_project.problems import DomainError
from transactions.services import reverse


class Command(BaseCommand):
    help = (
        "Reverse a posted transaction: post a new 'reversal' transaction with opposite entries, "
        "linked to it, and mark it reversed. Refused for an unknown id, a second reversal, or one "
        "that would take a customer balance below zero."
    )

    def add_arguments(self, parser):
        parser.add_argument("transaction_id", metavar="ID", help="The transaction's UUID.")
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def handle(self, *args, transaction_id, reason, **options):
        try:
            reversal = reverse(transaction_id=transaction_id, actor=None, reason=reason)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Transaction {transaction_id} reversed by {reversal.id} "
                f"({reversal.amount} {reversal.currency})."
            )
        )
