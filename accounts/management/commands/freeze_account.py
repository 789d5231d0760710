from accounts.services import freeze_account

from ._account_state import AccountStateCommand


class Command(AccountStateCommand):
    help = "Freeze an active account: it refuses every movement in or out but stays readable."
    change = staticmethod(freeze_account)
    done = "frozen"
