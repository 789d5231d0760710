from accounts.services import unfreeze_account

from ._account_state import AccountStateCommand


class Command(AccountStateCommand):
    help = "Make a frozen account active again."
    change = staticmethod(unfreeze_account)
    done = "is active again"
