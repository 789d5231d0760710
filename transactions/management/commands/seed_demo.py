"""Idempotent demo data, exactly as docs/api.md "Commands" describes."""

from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from accounts.cards import issue_card
from accounts.models import Account, Card
from accounts.services import ensure_cash_subaccounts
from atm_project.demo import (
    ADMIN_PASSWORD,
    ADMIN_USERNAME,
    DEMO_CARD,
    DEMO_CHECKING,
    DEMO_PASSWORD,
    DEMO_PIN,
    DEMO_SAVINGS,
    DEMO_USERNAME,
)
from transactions import services as ledger
from users.totp import demo_totp, describe_totp

DEMO_ACCOUNTS = [
    (DEMO_CHECKING, Account.Kind.CHECKING, Decimal("1000.00")),
    (DEMO_SAVINGS, Account.Kind.SAVINGS, Decimal("2500.00")),
]


class Command(BaseCommand):
    help = "Create the demo user, accounts (and card), funded through the ledger; idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--with-admin", action="store_true", help="also create superuser admin")

    def handle(self, *args, with_admin: bool = False, **options):
        User = get_user_model()
        demo, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
        )
        if created:
            demo.set_password(DEMO_PASSWORD)
            demo.save(update_fields=["password"])
        for number, kind, opening_balance in DEMO_ACCOUNTS:
            self._ensure_account(demo, number, kind, opening_balance)
        if not Card.objects.filter(number=DEMO_CARD).exists():
            issue_card(
                account_number=DEMO_CHECKING,
                owner=demo,
                pin=DEMO_PIN,
                card_number=DEMO_CARD,
            )
        if with_admin:
            self._ensure_admin(User)
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: user {DEMO_USERNAME}."))

    def _ensure_admin(self, User) -> None:
        admin = User.objects.filter(username=ADMIN_USERNAME).first()
        if admin is None:
            admin = User.objects.create_superuser(
                username=ADMIN_USERNAME, email="admin@example.com", password=ADMIN_PASSWORD
            )
            self.stdout.write(f"Superuser {ADMIN_USERNAME} created.")
        # The admin asks for a code after the password (STAFF_2FA): the demo admin's
        # authenticator is published like its password.
        self.stdout.write(f"Admin sign-in code for {ADMIN_USERNAME}: add this to an authenticator.")
        self.stdout.write(describe_totp(demo_totp(user=admin)))

    def _ensure_account(self, owner, number: str, kind: str, opening_balance: Decimal) -> None:
        """Open the account at a fixed number and fund it with a real deposit, once: an account
        left unfunded by an interrupted run is funded by the next one."""
        ensure_cash_subaccounts(currency="USD")
        account, _ = Account.objects.get_or_create(
            number=number, defaults={"owner": owner, "kind": kind, "currency": "USD"}
        )
        if not account.entries.exists():
            ledger.deposit(
                account_number=number,
                amount=opening_balance,
                actor=owner,
                description="Opening balance",
            )
