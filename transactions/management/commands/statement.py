from datetime import date

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Account
from atm_project.problems import DomainError
from transactions.api.statements import csv_chunks, json_chunks
from transactions.statements import build_statement

RENDERERS = {"json": json_chunks, "csv": csv_chunks}


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise CommandError(f"{text!r} is not a date (YYYY-MM-DD).") from None


class Command(BaseCommand):
    help = (
        "Print an account's statement for whole days in the bank's time zone: the same document "
        "as GET /api/v1/accounts/{number}/statement/."
    )

    def add_arguments(self, parser):
        parser.add_argument("account", help="The account number.")
        parser.add_argument("--from", dest="first_day", required=True, help="YYYY-MM-DD")
        parser.add_argument("--to", dest="last_day", required=True, help="YYYY-MM-DD")
        parser.add_argument("--format", choices=sorted(RENDERERS), default="json")

    def handle(self, *args, account, first_day, last_day, format, **options):
        found = Account.objects.filter(number=account).first()
        if found is None:
            raise CommandError(f"No account {account}.")
        try:
            statement = build_statement(
                account=found, first_day=_day(first_day), last_day=_day(last_day)
            )
        except DomainError as error:
            raise CommandError(error.detail) from error
        for chunk in RENDERERS[format](statement):
            self.stdout.write(chunk, ending="")
