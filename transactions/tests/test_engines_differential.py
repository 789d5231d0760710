"""The two posting engines are one ledger: the same random sequence of operations, applied
through the Python engine and through the SQL engine (each on its own, identical, set of
accounts), gives the same answers, the same refusals, the same balances, entries and
transactions, the same audit events on each account's chain, and a trail that verifies.

PostgreSQL only: the SQL engine is PL/pgSQL (transactions/migrations/0006_posting_function.py).
"""

from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.test import override_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.models import Account
from accounts.services import freeze_account, set_daily_withdrawal_limit
from accounts.tests.factories import AccountFactory
from atm_project.problems import DomainError
from audit.models import AuditEvent
from audit.verification import verify_chain
from transactions import services
from transactions.api.money import posted_answer
from transactions.models import Entry, Transaction
from users.tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.usefixtures("requires_postgres"),
    # Each test switches engines itself: run once, not once per engine.
    pytest.mark.parametrize("ledger_engine", ["python"], indirect=True),
]

# Logical accounts: three of the customer's (one in EUR), one of someone else's.
NAMES = ["mine", "savings", "euros", "theirs"]
AMOUNTS = [Decimal(a) for a in ("0.01", "1.00", "10.50", "40.00", "99.99", "250.00", "900.00")]

amounts = st.sampled_from(AMOUNTS)
names = st.sampled_from(NAMES)
operations = st.one_of(
    st.tuples(st.just("deposit"), names, amounts),
    st.tuples(st.just("withdraw"), names, amounts),
    st.tuples(st.just("transfer"), names, names, amounts),
    st.tuples(st.just("hold"), names, amounts),
    st.tuples(st.just("freeze"), names),
    st.tuples(st.just("limit"), names, amounts),
)


@dataclass
class Bank:
    """One engine's copy of the logical accounts, and what it answered."""

    customer: object
    staff: object
    accounts: dict[str, Account]

    def number(self, name: str) -> str:
        return self.accounts[name].number

    def logical(self, text: str) -> str:
        """Text with this bank's account numbers replaced by their logical names."""
        for name, account in self.accounts.items():
            text = text.replace(account.number, f"<{name}>")
        return text


def open_bank() -> Bank:
    customer, stranger, staff = UserFactory(), UserFactory(), UserFactory(is_staff=True)
    accounts = {
        "mine": AccountFactory(owner=customer, balance="500.00"),
        "savings": AccountFactory(owner=customer),
        "euros": AccountFactory(owner=customer, currency="EUR", balance="100.00"),
        "theirs": AccountFactory(owner=stranger, balance="300.00"),
    }
    return Bank(customer, staff, accounts)


def apply(bank: Bank, operation: tuple):
    """Run one operation; its answer (or refusal) in logical terms."""
    kind, *args = operation
    try:
        if kind == "deposit":
            done = services.deposit(
                account_number=bank.number(args[0]), amount=args[1], actor=bank.customer
            )
        elif kind == "withdraw":
            done = services.withdraw(
                account_number=bank.number(args[0]), amount=args[1], actor=bank.customer
            )
        elif kind == "transfer":
            done = services.transfer(
                from_account=bank.number(args[0]),
                to_account=bank.number(args[1]),
                amount=args[2],
                actor=bank.customer,
                description="différentiel ✓",
            )
        elif kind == "hold":
            hold = services.create_hold(
                account_number=bank.number(args[0]), amount=args[1], actor=bank.customer
            )
            return ("held", hold.amount)
        elif kind == "freeze":
            freeze_account(number=bank.number(args[0]), actor=bank.staff, reason="test")
            return ("frozen",)
        else:
            set_daily_withdrawal_limit(
                number=bank.number(args[0]), limit=args[1], actor=bank.staff, reason="test"
            )
            return ("limit",)
    except DomainError as refusal:
        return ("refused", type(refusal).__name__, bank.logical(refusal.detail))
    answer = posted_answer(done)
    del answer["id"], answer["created_at"]
    return ("posted", bank.logical(repr(sorted(answer.items()))))


def timeless(data: dict) -> list:
    """An event's data without the moments in it (a hold's expiry), which differ run to run."""
    return sorted((key, value) for key, value in data.items() if key != "expires_at")


def ledger_of(bank: Bank) -> dict:
    """Everything the engines write, in logical terms, in the order it was written."""
    ids = {account.pk: name for name, account in bank.accounts.items()}
    state = {}
    for name, account in bank.accounts.items():
        account.refresh_from_db()
        state[name] = {
            "balance": account.balance,
            "entries": [
                (e.kind, e.amount, e.balance_after, bank.logical(e.counterparty_number))
                for e in Entry.objects.filter(account=account).order_by("pk")
            ],
            "transactions": [
                (t.kind, t.amount, t.currency, t.description, ids.get(t.counterparty_id))
                for t in Transaction.objects.filter(account=account).order_by("created_at")
            ],
            "audit": [
                (e.seq, e.action, e.object_type, bank.logical(repr(timeless(e.data))))
                for e in AuditEvent.objects.filter(chain=f"account:{account.pk}").order_by("seq")
                if e.action.startswith(("money.", "hold."))
            ],
        }
    return state


def run_on(engine: str, operations_to_run: list[tuple]) -> tuple[list, dict]:
    with override_settings(LEDGER_ENGINE=engine):
        bank = open_bank()
        answers = [apply(bank, operation) for operation in operations_to_run]
        return answers, ledger_of(bank)


@hypothesis_settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(operations, min_size=1, max_size=12))
def test_both_engines_give_the_same_answers_rows_and_audit_trail(operations_to_run):
    python_answers, python_ledger = run_on("python", operations_to_run)
    sql_answers, sql_ledger = run_on("sql", operations_to_run)

    assert sql_answers == python_answers
    assert sql_ledger == python_ledger
    assert verify_chain().ok


def test_the_engines_are_compared_on_refusals_too():
    """The sequence above reaches every refusal the SQL engine can give: shown here once, so the
    property test cannot pass by never leaving the happy path."""
    sequence = [
        ("withdraw", "savings", Decimal("10.50")),  # insufficient funds
        ("transfer", "mine", "euros", Decimal("1.00")),  # currency mismatch
        ("hold", "mine", Decimal("40.00")),
        ("withdraw", "mine", Decimal("900.00")),  # insufficient, with a hold
        ("limit", "mine", Decimal("40.00")),
        ("withdraw", "mine", Decimal("1.00")),  # daily limit, with a hold
        ("deposit", "theirs", Decimal("1.00")),  # someone else's: not found
        ("freeze", "theirs"),
        ("transfer", "mine", "theirs", Decimal("1.00")),  # cannot receive
        ("freeze", "savings"),
        ("transfer", "mine", "savings", Decimal("1.00")),  # own frozen account: not active
    ]
    python_answers, python_ledger = run_on("python", sequence)
    sql_answers, sql_ledger = run_on("sql", sequence)

    refusals = {answer[1] for answer in python_answers if answer[0] == "refused"}
    assert refusals == {
        "InsufficientFunds",
        "CurrencyMismatch",
        "DailyLimitExceeded",
        "AccountNotFound",
        "InvalidRequest",
        "AccountNotActive",
    }
    assert sql_answers == python_answers
    assert sql_ledger == python_ledger


def test_an_api_movement_is_linked_with_its_origin_alike_on_both_engines(client_for):
    """Over HTTP the event carries the caller's address, user agent and request id: both engines
    key them into the account's chain the same way, and the trail verifies."""
    events = {}
    for engine in ("python", "sql"):
        with override_settings(LEDGER_ENGINE=engine):
            bank = open_bank()
            response = client_for(bank.customer).post(
                f"/api/v1/accounts/{bank.number('mine')}/deposit/",
                {"amount": "12.34", "description": "über"},
                format="json",
                HTTP_USER_AGENT="ATM/2.0 (lobby)",
                REMOTE_ADDR="203.0.113.9",
            )
            assert response.status_code == 201, response.content
            event = AuditEvent.objects.get(object_id=response.json()["id"])
            assert event.request_id == response["X-Request-ID"]
            events[engine] = (
                str(event.ip),
                event.user_agent,
                event.action,
                bank.logical(repr(timeless(event.data))),
            )

    assert events["sql"] == events["python"]
    assert events["sql"][:2] == ("203.0.113.9", "ATM/2.0 (lobby)")
    report = verify_chain()
    assert report.ok, report.problem
