from accounts.services import freeze_account
from users.staff import StaffCommand


class Command(StaffCommand):
    help = (
        "Freeze an active account at once (a safety action, no approval needed): it refuses "
        "every movement in or out but stays readable."
    )

    def add_arguments(self, parser):
        parser.add_argument("number", help="The account number.")
        parser.add_argument("--reason", required=True, help="Why (required; it is audited).")

    def act(self, *, number, reason, actor, **options) -> str:
        account = freeze_account(number=number, actor=actor, reason=reason)
        return f"Account {account.number} frozen by {actor.username}."
