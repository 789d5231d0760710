"""What `freeze_account` and `unfreeze_account` share: arguments, the service call, the errors."""

from django.core.management.base import BaseCommand, CommandError

from atm_project.problems import DomainError


class AccountStateCommand(BaseCommand):
    # accounts.services.freeze_account or unfreeze_account; set by the subclass.
    change = None
    done = ""

    def add_arguments(self, parser):
        parser.add_argument("number", help="The account number.")
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def handle(self, *args, number, reason, **options):
        try:
            account = self.change(number=number, actor=None, reason=reason)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(self.style.SUCCESS(f"Account {account.number} {self.done}."))
