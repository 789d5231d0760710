from backoffice.approvals import request_reversal

from ._filing import FilingCommand


class Command(FilingCommand):
    help = (
        "File a request to reverse a posted transaction. On approval by a different supervisor a "
        "new 'reversal' transaction with opposite entries is posted and the original marked "
        "reversed (refused then for a second reversal, or one that would overdraw an account)."
    )

    def add_target_arguments(self, parser):
        parser.add_argument("transaction_id", metavar="ID", help="The transaction's UUID.")

    def file(self, *, actor, reason, transaction_id, **options):
        return request_reversal(transaction_id=transaction_id, actor=actor, reason=reason)
