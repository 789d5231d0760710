from backoffice.approvals import request_unfreeze

from ._filing import FilingCommand


class Command(FilingCommand):
    help = "File a request to unfreeze an account; a different supervisor approves it."

    def add_target_arguments(self, parser):
        parser.add_argument("number", help="The account number.")

    def file(self, *, actor, reason, number, **options):
        return request_unfreeze(account_number=number, actor=actor, reason=reason)
