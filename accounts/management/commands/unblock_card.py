from django.core.management.base import BaseCommand, CommandError

from accounts.cards import unblock_card
from atm_project.problems import DomainError


class Command(BaseCommand):
    help = "Unblock a card blocked after three wrong PINs: active again, attempts counted afresh."

    def add_arguments(self, parser):
        parser.add_argument("number", help="The card's 16-digit number.")
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def handle(self, *args, number, reason, **options):
        try:
            card = unblock_card(card_number=number, actor=None, reason=reason)
        except DomainError as error:
            raise CommandError(error.detail) from error
        self.stdout.write(self.style.SUCCESS(f"Card {card.masked_number} unblocked."))
