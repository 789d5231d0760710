"""Four eyes (maker-checker): reversals, unfreezes, card unblocks and daily-limit changes are
requests that one staff member files with a reason and a different member of `Supervisors`
approves or rejects. Approval executes the change by calling the owning service
(transactions.services.reverse, accounts.services.unfreeze_account / set_daily_withdrawal_limit,
accounts.cards.unblock_card) inside the approval's transaction, after locking the request row:
of two supervisors approving at once, one executes and the other finds it decided. If the
service refuses (the card was unblocked meanwhile...), the approval rolls back with it and the
request stays pending, to be rejected.
"""

from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts import cards
from accounts import services as accounts
from accounts.models import Account, Card
from atm_project.problems import AccountNotFound, DomainError, InvalidRequest
from audit.services import mask_card_number, record_event
from transactions import services as ledger
from transactions.models import Transaction

from .models import ApprovalRequest

SUPERVISORS = "Supervisors"
FILE_PERMISSION = "backoffice.file_request"


class RequestNotFound(DomainError):
    status, code, title = 404, "not_found", "Not found"


class RequestNotPending(DomainError):
    status, code, title = 409, "request_not_pending", "Request already decided"


class RequestAlreadyPending(DomainError):
    status, code, title = 409, "request_already_pending", "Request already pending"


class ApprovalRequired(DomainError):
    """The change needs a second staff member: one's own request cannot be approved."""

    status, code, title = 403, "approval_required", "Approval required"


class NotPermitted(DomainError):
    status, code, title = 403, "permission_denied", "Permission denied"


def may_file(user) -> bool:
    return bool(user and user.is_active and user.is_staff and user.has_perm(FILE_PERMISSION))


def may_decide(user) -> bool:
    """Members of Supervisors only (a superuser outside the group decides nothing)."""
    return bool(
        user and user.is_active and user.is_staff and user.groups.filter(name=SUPERVISORS).exists()
    )


# Filing ---------------------------------------------------------------------------------------


def request_reversal(*, transaction_id, actor, reason: str) -> ApprovalRequest:
    original = (
        Transaction.objects.select_related("account")
        .filter(pk=ledger.as_uuid(transaction_id))
        .first()
    )
    if original is None:
        raise InvalidRequest("transaction", f"No transaction {transaction_id}.")
    return _file(
        kind=ApprovalRequest.Kind.REVERSAL,
        target=f"transaction:{original.pk}",
        account=original.account,
        transaction=original,
        actor=actor,
        reason=reason,
    )


def request_unfreeze(*, account_number: str, actor, reason: str) -> ApprovalRequest:
    account = _customer_account(account_number)
    return _file(
        kind=ApprovalRequest.Kind.UNFREEZE,
        target=f"account:{account.number}",
        account=account,
        actor=actor,
        reason=reason,
    )


def request_card_unblock(*, card_number: str, actor, reason: str) -> ApprovalRequest:
    card = Card.objects.select_related("account").filter(number=card_number).first()
    if card is None:
        raise RequestNotFound("No such card.")
    return _file(
        kind=ApprovalRequest.Kind.CARD_UNBLOCK,
        target=f"card:{card.pk}",
        account=card.account,
        card=card,
        actor=actor,
        reason=reason,
    )


def request_daily_limit(*, account_number: str, limit, actor, reason: str) -> ApprovalRequest:
    account = _customer_account(account_number)
    return _file(
        kind=ApprovalRequest.Kind.DAILY_LIMIT,
        target=f"account:{account.number}",
        account=account,
        new_daily_limit=accounts.validate_daily_limit(limit),
        actor=actor,
        reason=reason,
    )


def _file(*, kind: str, target: str, account: Account, actor, reason: str, **details):
    reason = accounts.require_reason(reason)
    if not may_file(actor):
        raise NotPermitted(f"{actor} may not file requests.")
    with transaction.atomic():
        try:
            with transaction.atomic():
                request = ApprovalRequest.objects.create(
                    kind=kind,
                    target=target,
                    account=account,
                    reason=reason,
                    requested_by=actor,
                    **details,
                )
        except IntegrityError as error:
            raise RequestAlreadyPending(
                f"A {kind} request for {target} is already pending."
            ) from error
        record_event(
            action="approval.requested",
            actor=actor,
            target=request,
            data={**_describe(request), "reason": reason},
        )
    return request


# Deciding -------------------------------------------------------------------------------------


def approve(*, request_id, actor) -> ApprovalRequest:
    """Execute the request and mark it approved, in one transaction, exactly once."""
    with transaction.atomic():
        request = _pending_for_decision(request_id, actor)
        request.outcome = _EXECUTORS[request.kind](request, actor)[:255]
        _decide(request, actor, ApprovalRequest.Status.APPROVED, "approval.approved")
    return request


def reject(*, request_id, actor, reason: str) -> ApprovalRequest:
    reason = accounts.require_reason(reason)
    with transaction.atomic():
        request = _pending_for_decision(request_id, actor)
        request.outcome = reason[:255]
        _decide(request, actor, ApprovalRequest.Status.REJECTED, "approval.rejected")
    return request


def _pending_for_decision(request_id, actor) -> ApprovalRequest:
    if not may_decide(actor):
        raise NotPermitted(f"Only members of {SUPERVISORS} approve or reject requests.")
    request = (
        ApprovalRequest.objects.select_for_update(of=("self",))
        .select_related("account", "card", "requested_by")
        .filter(pk=_as_int(request_id))
        .first()
    )
    if request is None:
        raise RequestNotFound(f"No request #{request_id}.")
    if request.requested_by_id == actor.pk:
        raise ApprovalRequired(
            f"Request #{request.pk} is yours: a different supervisor must decide it."
        )
    if not request.is_pending:
        raise RequestNotPending(f"Request #{request.pk} is already {request.status}.")
    return request


def _decide(request: ApprovalRequest, actor, status: str, action: str) -> None:
    request.status = status
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_by", "decided_at", "outcome"])
    record_event(
        action=action,
        actor=actor,
        target=request,
        data={
            **_describe(request),
            "requested_by": request.requested_by.username,
            "reason": request.reason,
            "outcome": request.outcome,
        },
    )


def _service_reason(request: ApprovalRequest) -> str:
    # The executing service audits this reason: it names the request, so the trail links the
    # change to who asked and who approved.
    return f"{request.reason} (request #{request.pk} by {request.requested_by.username})"


def _reverse(request: ApprovalRequest, actor) -> str:
    reversal = ledger.reverse(
        transaction_id=request.transaction_id, actor=actor, reason=_service_reason(request)
    )
    return f"reversal {reversal.pk}"


def _unfreeze(request: ApprovalRequest, actor) -> str:
    accounts.unfreeze_account(
        number=request.account.number, actor=actor, reason=_service_reason(request)
    )
    return f"account {request.account.number} active"


def _unblock(request: ApprovalRequest, actor) -> str:
    card = cards.unblock_card(
        card_number=request.card.number, actor=actor, reason=_service_reason(request)
    )
    return f"card {card.masked_number} active"


def _set_daily_limit(request: ApprovalRequest, actor) -> str:
    account = accounts.set_daily_withdrawal_limit(
        number=request.account.number,
        limit=request.new_daily_limit,
        actor=actor,
        reason=_service_reason(request),
    )
    return f"daily limit {account.daily_withdrawal_limit}"


_EXECUTORS: dict[str, Callable[[ApprovalRequest, object], str]] = {
    ApprovalRequest.Kind.REVERSAL: _reverse,
    ApprovalRequest.Kind.UNFREEZE: _unfreeze,
    ApprovalRequest.Kind.CARD_UNBLOCK: _unblock,
    ApprovalRequest.Kind.DAILY_LIMIT: _set_daily_limit,
}


# Helpers --------------------------------------------------------------------------------------


def _describe(request: ApprovalRequest) -> dict:
    """What the audit event names: the kind and the objects, by the numbers staff search for."""
    data = {"request": request.pk, "kind": request.kind, "account_number": request.account.number}
    if request.transaction_id:
        data["transaction_id"] = str(request.transaction_id)
    if request.card_id:
        data["card"] = mask_card_number(request.card.number)
    if request.new_daily_limit is not None:
        data["new_daily_limit"] = request.new_daily_limit
    return data


def _customer_account(number: str) -> Account:
    account = Account.objects.filter(number=number).first()
    if account is None or account.is_internal:
        raise AccountNotFound(f"No customer account {number}.")
    return account


def _as_int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
