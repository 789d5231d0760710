from decimal import Decimal

import factory

from accounts.models import Account
from accounts.services import open_account
from transactions import services as ledger
from users.tests.factories import UserFactory


class AccountFactory(factory.Factory):
    """Opens accounts through the service and funds them with real deposits, so every test
    ledger reconciles exactly like a production one."""

    class Meta:
        model = Account

    owner = factory.SubFactory(UserFactory)
    kind = Account.Kind.CHECKING
    currency = "USD"
    balance = Decimal("0.00")

    @classmethod
    def _create(cls, model_class, *, owner, kind, currency, balance):
        account = open_account(owner=owner, kind=kind, currency=currency)
        if balance:
            ledger.deposit(
                account_number=account.number,
                amount=Decimal(balance),
                actor=owner,
                description="Test funding",
            )
            account.refresh_from_db()
        return account


TEST_PIN = "2468"


def issue_test_card(account: Account, pin: str = TEST_PIN, **fields):
    """A card issued through the service on `account`; `fields` then override its columns
    (e.g. `expires_on` in the past, `status="blocked"`)."""
    from accounts.cards import issue_card

    card = issue_card(account_number=account.number, owner=account.owner, pin=pin)
    if fields:
        for name, value in fields.items():
            setattr(card, name, value)
        card.save(update_fields=list(fields))
    return card
