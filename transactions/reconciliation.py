"""Ledger invariants, checked with aggregate queries over the whole ledger."""

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import BigIntegerField, Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Cast, Coalesce, Round

from accounts.models import CASH_SUBACCOUNTS, Account
from audit.models import BANK_CHAIN, AuditEvent
from audit.services import account_chain

from .models import Entry, Hold, Transaction

ZERO_CENTS = Value(0, output_field=BigIntegerField())
CENT = Decimal("0.01")


def _cents(expression):
    """A money column as whole cents. Sums and comparisons are done on these because SQLite
    stores decimals as binary floats: its SUM of many amounts drifts off the exact total."""
    return Cast(Round(expression * 100), BigIntegerField())


def _money(cents: int) -> str:
    return f"{cents * CENT:.2f}"


@dataclass(frozen=True)
class Finding:
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.check}] {self.subject}: {self.detail}"


@dataclass(frozen=True)
class Report:
    accounts_checked: int
    transactions_checked: int
    findings: list[Finding]

    @property
    def clean(self) -> bool:
        return not self.findings


def reconcile(*, on_progress: Callable[[int], None] | None = None) -> Report:
    """Run every check; `on_progress(checks_done)` after each (out of len(CHECKS))."""
    findings = []
    for done, (_, _, check) in enumerate(CHECKS, start=1):
        findings.extend(check())
        if on_progress is not None:
            on_progress(done)
    return Report(
        accounts_checked=Account.objects.count(),
        transactions_checked=Transaction.objects.count(),
        findings=findings,
    )


def balances_differing_from_entries() -> list[Finding]:
    entry_cents = (
        Entry.objects.filter(account=OuterRef("pk"))
        .order_by()
        .values("account")
        .annotate(total=Sum(_cents(F("amount"))))
        .values("total")
    )
    accounts = Account.objects.annotate(
        ledger_cents=Coalesce(Subquery(entry_cents), ZERO_CENTS),
        balance_cents=_cents(F("balance")),
    ).exclude(balance_cents=F("ledger_cents"))
    return [
        Finding(
            "balance",
            f"account {account.number}",
            f"stored balance {_money(account.balance_cents)} but its entries sum to "
            f"{_money(account.ledger_cents)}",
        )
        for account in accounts.order_by("number")
    ]


def unbalanced_transactions() -> list[Finding]:
    transactions = (
        Transaction.objects.annotate(
            leg_cents=Coalesce(Sum(_cents(F("entries__amount"))), ZERO_CENTS),
            legs=Count("entries"),
        )
        .filter(~Q(leg_cents=0) | Q(legs__lt=2))
        .order_by("created_at")
    )
    return [
        Finding(
            "double-entry",
            f"transaction {txn.id}",
            f"{txn.legs} entries summing to {_money(txn.leg_cents)} "
            "(must be at least 2 summing to 0)",
        )
        for txn in transactions
    ]


def legs_in_another_currency() -> list[Finding]:
    entries = (
        Entry.objects.exclude(account__currency=F("transaction__currency"))
        .select_related("account", "transaction")
        .order_by("id")
    )
    return [
        Finding(
            "currency",
            f"transaction {entry.transaction_id}",
            f"leg on account {entry.account.number} in {entry.account.currency}, "
            f"the transaction is in {entry.transaction.currency}",
        )
        for entry in entries
    ]


def negative_customer_balances() -> list[Finding]:
    accounts = Account.objects.exclude(kind=Account.Kind.INTERNAL).filter(balance__lt=0)
    return [
        Finding("negative", f"account {account.number}", f"balance {account.balance} below zero")
        for account in accounts.order_by("number")
    ]


def missing_cash_subaccounts() -> list[Finding]:
    """Every currency in use has all its cash sub-accounts: a deposit or withdrawal of an
    account whose shard has none would fail."""
    shards = defaultdict(set)
    for currency, shard in Account.objects.filter(kind=Account.Kind.INTERNAL).values_list(
        "currency", "cash_shard"
    ):
        shards[currency].add(shard)
    in_use = set(Account.objects.order_by().values_list("currency", flat=True).distinct())
    findings = []
    for currency in sorted(in_use):
        missing = sorted(set(range(CASH_SUBACCOUNTS)) - shards[currency])
        if missing:
            findings.append(
                Finding(
                    "cash",
                    f"currency {currency}",
                    f"no cash sub-account for shard(s) {', '.join(map(str, missing))} "
                    f"of {CASH_SUBACCOUNTS}",
                )
            )
    return findings


def broken_reversal_links() -> list[Finding]:
    findings = []
    reversed_without_reversal = Transaction.objects.filter(
        status=Transaction.Status.REVERSED, reversal__isnull=True
    )
    findings += [
        Finding("reversal", f"transaction {txn.id}", "marked reversed but no reversal exists")
        for txn in reversed_without_reversal
    ]
    reversal_of_posted = Transaction.objects.filter(kind=Transaction.Kind.REVERSAL).exclude(
        reverses__status=Transaction.Status.REVERSED
    )
    findings += [
        Finding("reversal", f"transaction {txn.id}", "reverses a transaction not marked reversed")
        for txn in reversal_of_posted
    ]
    for reversal in Transaction.objects.filter(kind=Transaction.Kind.REVERSAL).prefetch_related(
        "entries", "reverses__entries"
    ):
        if _legs(reversal) != {
            account: -amount for account, amount in _legs(reversal.reverses).items()
        }:
            findings.append(
                Finding(
                    "reversal",
                    f"transaction {reversal.id}",
                    f"entries are not the opposite of transaction {reversal.reverses_id}",
                )
            )
    return findings


# Every ledger transaction is posted together with its audit event, in one database transaction
# (transactions/services.py); either one without the other was written by hand.
_MONEY_EVENTS = {"action__startswith": "money.", "object_type": "transactions.transaction"}


def transactions_without_audit_events() -> list[Finding]:
    audited = set(AuditEvent.objects.filter(**_MONEY_EVENTS).values_list("object_id", flat=True))
    return [
        Finding("audit", f"transaction {txn_id}", "has no audit event: it was not posted here")
        for txn_id in Transaction.objects.order_by("created_at").values_list("id", flat=True)
        if str(txn_id) not in audited
    ]


def audit_events_without_transactions() -> list[Finding]:
    """Each money event names a transaction that exists and, unless it predates the account
    chains (those are on the bank chain), sits on the chain of that transaction's account: both
    posting engines must name chains alike."""
    account_of = {
        str(txn_id): account_id
        for txn_id, account_id in Transaction.objects.values_list("id", "account_id")
    }
    events = (
        AuditEvent.objects.filter(**_MONEY_EVENTS)
        .order_by("chain", "seq")
        .values_list("chain", "seq", "object_id")
    )
    return [
        Finding("audit", f"audit event {chain} #{seq}", problem)
        for chain, seq, txn_id in events
        if (problem := _money_event_problem(chain, txn_id, account_of))
    ]


def _money_event_problem(chain: str, txn_id: str, account_of: dict[str, int]) -> str:
    if txn_id not in account_of:
        return f"names transaction {txn_id}, which is missing"
    own_chain = account_chain(account_of[txn_id])
    if chain not in (BANK_CHAIN, own_chain):
        return f"names transaction {txn_id}, whose account's chain is {own_chain}"
    return ""


def broken_hold_links() -> list[Finding]:
    """Each captured hold has exactly one withdrawal, of its captured amount, on its account;
    nothing else names a hold; nothing captures more than was held."""
    findings = []
    withdrawals_per_hold = (
        Transaction.objects.filter(hold__isnull=False)
        .order_by()
        .values("hold")
        .annotate(count=Count("pk"))
        .filter(count__gt=1)
    )
    findings += [
        Finding("hold", f"hold {row['hold']}", f"named by {row['count']} withdrawals")
        for row in withdrawals_per_hold
    ]
    captured_without_withdrawal = Hold.objects.filter(
        status=Hold.Status.CAPTURED, withdrawal__isnull=True
    )
    findings += [
        Finding("hold", f"hold {hold.id}", "captured but no withdrawal names it")
        for hold in captured_without_withdrawal.order_by("created_at")
    ]
    over_captured = Hold.objects.filter(captured_amount__gt=F("amount"))
    findings += [
        Finding("hold", f"hold {hold.id}", f"captured {hold.captured_amount} of {hold.amount}")
        for hold in over_captured.order_by("created_at")
    ]
    mismatched = (
        Transaction.objects.filter(hold__isnull=False)
        .exclude(
            kind=Transaction.Kind.WITHDRAWAL,
            hold__status=Hold.Status.CAPTURED,
            account=F("hold__account"),
            amount=F("hold__captured_amount"),
        )
        .order_by("created_at")
    )
    findings += [
        Finding(
            "hold",
            f"transaction {txn.id}",
            f"names hold {txn.hold_id} but is not its capture (a withdrawal of the captured "
            "amount from the hold's account)",
        )
        for txn in mismatched
    ]
    return findings


def _legs(txn: Transaction) -> dict[int, Decimal]:
    legs: dict[int, Decimal] = {}
    for entry in txn.entries.all():
        legs[entry.account_id] = legs.get(entry.account_id, Decimal("0")) + entry.amount
    return legs


# (name used in findings, what it checks, the check)
CHECKS = [
    (
        "balance",
        "stored balance = sum of entries, for every account",
        balances_differing_from_entries,
    ),
    (
        "double-entry",
        "every transaction has two or more entries summing to zero",
        unbalanced_transactions,
    ),
    (
        "currency",
        "every entry is on an account of its transaction's currency",
        legs_in_another_currency,
    ),
    ("negative", "no customer balance below zero", negative_customer_balances),
    (
        "cash",
        f"every currency in use has its {CASH_SUBACCOUNTS} cash sub-accounts",
        missing_cash_subaccounts,
    ),
    (
        "reversal",
        "each reversal exactly undoes one transaction marked reversed",
        broken_reversal_links,
    ),
    (
        "audit",
        "every transaction has its audit event, and every money event its transaction, on its "
        "account's chain",
        lambda: transactions_without_audit_events() + audit_events_without_transactions(),
    ),
    (
        "hold",
        "each captured hold has its one withdrawal of the captured amount; captured <= held",
        broken_hold_links,
    ),
]
