"""The one path every money-moving endpoint takes: validate, move idempotently, answer."""

from collections.abc import Callable

from rest_framework.response import Response

from atm_project.exception_handlers import PROBLEM_CONTENT_TYPE, domain_error_response

from ..idempotency import HEADER, request_fingerprint, run_idempotently
from ..models import Transaction
from .serializers import TransactionSerializer


def posted_answer(posted: Transaction) -> dict:
    """The 201 body of a movement, as the client that made it sees it. The services hand back
    the transaction with its accounts and legs attached, so this runs without a query (on the
    Python engine it is rendered, and stored for retries, while the movement's row locks are
    held); a replay of a SQL-engine answer renders the stored transaction the same way."""
    context = {"visible_account_ids": {posted.account_id}}
    return TransactionSerializer(posted, context=context).data


def money_movement_response(
    request,
    move: Callable[..., Transaction],
    *,
    render: Callable = posted_answer,
    success_status: int = 201,
    one_call: bool = False,
) -> Response:
    """Run a movement (or a hold's creation, capture or void) under the request's
    Idempotency-Key and answer with `render` of its result, or the problem it raised.

    `move(**answer)` passes `answer` (how the engine stores the idempotent answer) on to the
    service; `one_call` says the service is a deposit, withdrawal or transfer, which the SQL
    engine posts, key claim included, in one database call."""
    # Computed before the movement starts, so nothing of it is done under the row locks.
    key = request.headers.get(HEADER)
    fingerprint = request_fingerprint(method=request.method, path=request.path, data=request.data)

    outcome = run_idempotently(
        user=request.user,
        key=key,
        fingerprint=fingerprint,
        move=move,
        render=render,
        render_error=lambda error: domain_error_response(error).data,
        success_status=success_status,
        one_call=one_call,
    )
    content_type = PROBLEM_CONTENT_TYPE if outcome.status >= 400 else None
    response = Response(outcome.body, status=outcome.status, content_type=content_type)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
