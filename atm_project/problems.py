"""Domain errors: one hierarchy, each carrying its RFC 9457 problem code, status and title.

Services raise these; `exception_handlers.problem_exception_handler` is the only place that turns
them (and DRF's own exceptions) into responses.
"""


class DomainError(Exception):
    status: int = 400
    code: str = "domain_error"
    title: str = "Request refused"

    def __init__(self, detail: str | None = None):
        self.detail = detail or self.title
        super().__init__(self.detail)


class AccountNotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class AccountNotActive(DomainError):
    status, code, title = 409, "account_not_active", "Account not active"


class AccountStateConflict(DomainError):
    """A staff state change that does not apply: freezing a frozen account, unfreezing an active
    one, or any change to a closed one."""

    status, code, title = 409, "account_state_conflict", "Account state conflict"


class AccountNotEmpty(DomainError):
    status, code, title = 409, "account_not_empty", "Account not empty"


class InsufficientFunds(DomainError):
    status, code, title = 422, "insufficient_funds", "Insufficient funds"


class DailyLimitExceeded(DomainError):
    status, code, title = 422, "daily_limit_exceeded", "Daily withdrawal limit exceeded"


class CurrencyMismatch(DomainError):
    status, code, title = 422, "currency_mismatch", "Currency mismatch"


class IdempotencyKeyReused(DomainError):
    status, code, title = 422, "idempotency_key_reused", "Idempotency key reused"


class IdempotencyKeyInUse(DomainError):
    status, code, title = 409, "idempotency_key_in_use", "Idempotency key in use"


class TransactionAlreadyReversed(DomainError):
    status, code, title = 409, "already_reversed", "Transaction already reversed"


class HoldNotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class HoldNotPending(DomainError):
    """Capturing or voiding a hold that is already captured, voided or expired."""

    status, code, title = 409, "hold_not_pending", "Hold not pending"


class CaptureExceedsHold(DomainError):
    status, code, title = 422, "capture_exceeds_hold", "Capture exceeds hold"


class CardBlocked(DomainError):
    status, code, title = 423, "card_blocked", "Card blocked"


class UserNoLongerValid(DomainError):
    """The user a customer's access token names no longer exists, was deactivated, or changed
    their password since the token was issued, found by the posting itself (the ledger's SQL
    function checks it inside the movement's transaction: atm_project/authentication.py).

    The API answers it with simplejwt's own refusal of the same token, word for word, as on any
    other endpoint (exception_handlers); this title is the answer only if the user became valid
    again in between.
    """

    status, code, title = 401, "authentication_failed", "Authentication failed"


class InvalidRequest(DomainError):
    """A rule about the request's fields, reported like a serializer's validation error."""

    status, code, title = 400, "validation_error", "Invalid request"

    def __init__(self, field: str, message: str):
        self.errors = {field: [message]}
        super().__init__(message)


class InvalidAmount(InvalidRequest):
    """An amount no movement may carry: not above 0, more than 2 places, over the maximum."""

    def __init__(self, message: str):
        super().__init__("amount", message)


class SameAccountTransfer(InvalidRequest):
    def __init__(self):
        super().__init__("to_account", "Cannot transfer to the same account.")


class ServiceUnavailable(DomainError):
    """The database or the shared cache cannot be reached: nothing was applied, retry later."""

    status, code, title = 503, "service_unavailable", "Service unavailable"
    # Seconds a client should wait: long enough for a restart or failover to finish.
    retry_after = 5
