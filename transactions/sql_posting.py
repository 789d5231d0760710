"""The SQL engine: a deposit, withdrawal or transfer posted by one call of `ledger_post`.

settings.LEDGER_ENGINE = "sql" (the default on PostgreSQL). The function, kept in migration
transactions/0006_posting_function, claims the Idempotency-Key, locks the accounts in primary-key
order, checks, writes the transaction, entries, balances and the completed claim, and links the
audit event into the account's chain, in one round trip and one commit: the row locks are held
for the database's own work only. Its steps and messages are those of the Python engine
(transactions/services.py), which SQLite uses; both sit behind the same service functions, and
the differential test holds them to the same rows, answers and refusals.

Called outside any transaction it runs in autocommit (the function is its own transaction);
inside one (a test's), in a savepoint, so a refusal rolls back the function's work only.
"""

import json
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from accounts.models import CASH_SUBACCOUNTS, Account
from atm_project.authentication import user_claims
from atm_project.problems import (
    AccountNotActive,
    AccountNotFound,
    CurrencyMismatch,
    DailyLimitExceeded,
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientFunds,
    InvalidRequest,
    UserNoLongerValid,
)
from audit.context import current_origin

from .models import Entry, Transaction

# The SQLSTATE `ledger_refuse` raises, its message naming one of these refusals.
REFUSED = "LE001"
_REFUSALS: dict[str, type[DomainError]] = {
    "not_found": AccountNotFound,
    "account_not_active": AccountNotActive,
    "insufficient_funds": InsufficientFunds,
    "daily_limit_exceeded": DailyLimitExceeded,
    "currency_mismatch": CurrencyMismatch,
    "idempotency_key_reused": IdempotencyKeyReused,
    "idempotency_key_in_use": IdempotencyKeyInUse,
    "user_no_longer_valid": UserNoLongerValid,
}

_CALL = (
    "SELECT * FROM ledger_post(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def posts_in_sql() -> bool:
    return settings.LEDGER_ENGINE == "sql"


@dataclass(frozen=True)
class Claim:
    """An Idempotency-Key to claim in the posting's own transaction."""

    key: str
    fingerprint: str


@dataclass(frozen=True)
class Replay:
    """The key's stored answer: a body, or the transaction whose rendering the answer is."""

    status: int
    body: dict | None
    transaction_id: UUID | None


def post(
    *,
    kind: str,
    account_number: str,
    amount: Decimal,
    actor,
    description: str = "",
    to_account: str | None = None,
    day_started=None,
    claim: Claim | None = None,
) -> Transaction | Replay:
    """Post one movement (amount already validated); a refusal raises its domain error."""
    user_id, revocation_claim = user_claims(actor)
    origin = current_origin()
    params = [
        kind, user_id, revocation_claim, account_number, to_account, amount, description,
        timezone.now(), day_started, claim and claim.key, claim and claim.fingerprint,
        timedelta(seconds=settings.IDEMPOTENCY_CLAIM_TIMEOUT), CASH_SUBACCOUNTS,
        settings.AUDIT_CHAIN_KEY, origin.ip, origin.user_agent, origin.request_id,
    ]  # fmt: skip
    row = _call(params)
    if row["replay_status"] is not None:
        body = row["replay_body"] and json.loads(row["replay_body"])
        return Replay(row["replay_status"], body, row["replay_transaction"])
    return _posted(row, kind=kind, amount=amount, description=description, actor_id=user_id)


def _call(params: list) -> dict:
    try:
        if connection.in_atomic_block:
            with transaction.atomic():
                return _fetch(params)
        return _fetch(params)
    except DatabaseError as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        raise refusal from None


def _fetch(params: list) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(_CALL, params)
        names = [column.name for column in cursor.description]
        return dict(zip(names, cursor.fetchone(), strict=True))


def _refusal(error: DatabaseError) -> DomainError | None:
    """The domain error a `ledger_refuse` stands for, or None for any other database error."""
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) != REFUSED:
        return None
    code, detail = cause.diag.message_primary, cause.diag.message_detail or None
    if code == "cannot_receive":
        return InvalidRequest("to_account", detail)
    return _REFUSALS[code](detail)


def _posted(row: dict, *, kind: str, amount: Decimal, description: str, actor_id) -> Transaction:
    """The posted transaction with its accounts and legs attached, as the Python engine hands it
    back, built from the function's answer without a query."""
    account = Account(
        id=row["account_id"], number=row["account_number"], currency=row["currency"],
        balance=row["account_balance"],
    )  # fmt: skip
    other = Account(
        id=row["other_id"], number=row["other_number"], currency=row["currency"],
        balance=row["other_balance"],
    )  # fmt: skip
    is_transfer = kind == Transaction.Kind.TRANSFER
    posted = _loaded(
        Transaction(
            id=row["transaction_id"], kind=kind, status=Transaction.Status.POSTED,
            amount=amount, currency=row["currency"], description=description, account=account,
            counterparty=other if is_transfer else None, initiated_by_id=actor_id,
            created_at=row["created_at"],
        )
    )  # fmt: skip
    delta = amount if kind == Transaction.Kind.DEPOSIT else -amount
    posted.legs = [
        _loaded(
            Entry(
                transaction=posted, account=leg_account, amount=leg_amount,
                balance_after=leg_account.balance, kind=kind, created_at=posted.created_at,
                counterparty_number=counterparty.number if is_transfer else "",
            )
        )
        for leg_account, leg_amount, counterparty in (
            (account, delta, other), (other, -delta, account)
        )
    ]  # fmt: skip
    return posted


def _loaded(instance):
    """Mark a model instance as a row read from the database (it was written by the function)."""
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance
