from backoffice.approvals import request_card_unblock

from ._filing import FilingCommand


class Command(FilingCommand):
    help = (
        "File a request to unblock a card blocked after three wrong PINs; on approval by a "
        "different supervisor it is active again, with its attempts counted afresh."
    )

    def add_target_arguments(self, parser):
        parser.add_argument("number", help="The card's 16-digit number.")

    def file(self, *, actor, reason, number, **options):
        return request_card_unblock(card_number=number, actor=actor, reason=reason)
