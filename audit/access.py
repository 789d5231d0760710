"""Attempts to reach another customer's account, transaction or hold.

The API answers them with 404, exactly like a missing object, so the caller learns nothing; the
audit trail, though, records that the object exists and whose it is. `record_foreign_access` is
called by the API's exception handler for every 404, which covers every endpoint without any of
them having to remember to.

It runs after the response has been sent (`record_foreign_access_after_response`): the lookup and
the audit write cost a 404 for someone else's object time that a 404 for a missing one would not
spend, and a client could time the difference. Before the response, both do the same work.
"""

import contextvars
import logging

from django.apps import apps
from django.core.exceptions import ValidationError

from .services import record_event

logger = logging.getLogger(__name__)

# Where a request names the object it wants: the URL's account number or transaction id, or
# the source account in a transfer's body.
_URL_LOOKUPS = {"number": ("accounts.Account", "number"), "pk": ("transactions.Transaction", "pk")}
_BODY_LOOKUPS = {"from_account": ("accounts.Account", "number")}


def record_foreign_access_after_response(response, request, view) -> None:
    """Audit the 404 once `response` has been sent (the WSGI server closes it then)."""
    # The request id and client address live in context variables that end with the request.
    context = contextvars.copy_context()

    def record() -> None:
        try:
            context.run(record_foreign_access, request, view)
        except Exception:
            # The answer has gone out already; a failed audit write must still be seen.
            logger.exception("Could not audit a 404 for someone else's object")

    response._resource_closers.append(record)


def record_foreign_access(request, view) -> None:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return
    for model_label, field, value in _named_objects(request, view):
        owners = _owners_of(model_label, field, value)
        if owners is not None and user.pk not in owners:
            record_event(
                action="access.denied",
                actor=user,
                object_type=model_label.lower(),
                object_id=str(value)[:64],
                data={"method": request.method, "path": request.path[:255]},
            )
            return


def _named_objects(request, view):
    kwargs = getattr(view, "kwargs", None) or {}
    # A view whose URL names another kind of object (a hold's id) says so in `audited_lookups`.
    lookups = {**_URL_LOOKUPS, **getattr(view, "audited_lookups", {})}
    for kwarg, (model_label, field) in lookups.items():
        if kwargs.get(kwarg):
            yield model_label, field, kwargs[kwarg]
    data = getattr(request, "data", None)
    if isinstance(data, dict):
        for key, (model_label, field) in _BODY_LOOKUPS.items():
            if isinstance(data.get(key), str):
                yield model_label, field, data[key]


def _owners_of(model_label: str, field: str, value) -> set | None:
    """The ids of the customers the named object belongs to, or None if there is no such object.

    A transaction belongs to the owners of both its accounts (a transfer's target sees it too).
    """
    owner_fields = _OWNER_FIELDS[model_label]
    try:
        row = apps.get_model(model_label).objects.filter(**{field: value}).values(*owner_fields)
        row = row.first()
    except (ValueError, TypeError, ValidationError):
        return None  # a malformed id names nothing
    return None if row is None else set(row.values())


_OWNER_FIELDS = {
    "accounts.Account": ("owner_id",),
    "transactions.Transaction": ("account__owner_id", "counterparty__owner_id"),
    "transactions.Hold": ("account__owner_id",),
}
