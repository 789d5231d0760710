"""The one path every money-moving endpoint takes: validate, move idempotently, answer."""

from collections.abc import Callable

from rest_framework.response import Response

from atm_project.exception_handlers import PROBLEM_CONTENT_TYPE

from ..idempotency import HEADER, request_fingerprint, run_idempotently
from ..models import Transaction
from ..services import OnPosted
from .serializers import TransactionSerializer


def money_movement_response(request, move: Callable[[OnPosted], Transaction]) -> Response:
    def render(posted: Transaction) -> dict:
        context = {"request": request, "visible_account_ids": {posted.account_id}}
        return TransactionSerializer(posted, context=context).data

    outcome = run_idempotently(
        user=request.user,
        key=request.headers.get(HEADER),
        fingerprint=request_fingerprint(
            method=request.method, path=request.path, data=request.data
        ),
        move=move,
        render=render,
    )
    content_type = PROBLEM_CONTENT_TYPE if outcome.status >= 400 else None
    response = Response(outcome.body, status=outcome.status, content_type=content_type)
    if outcome.replayed:
        response["Idempotent-Replayed"] = "true"
    return response
