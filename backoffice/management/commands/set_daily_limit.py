from backoffice.approvals import request_daily_limit

from ._filing import FilingCommand


class Command(FilingCommand):
    help = "File a request to change an account's daily withdrawal limit (e.g. 2500.00)."

    def add_target_arguments(self, parser):
        parser.add_argument("number", help="The account number.")
        parser.add_argument("limit", help="The new limit per bank day, e.g. 2500.00.")

    def file(self, *, actor, reason, number, limit, **options):
        return request_daily_limit(account_number=number, limit=limit, actor=actor, reason=reason)
