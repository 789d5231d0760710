"""Every endpoint that moves or reads money: an account's balance, deposits, withdrawals, holds,
history and statements (under /accounts/{number}/), transfers, holds, and the transaction list."""

from django.http import Http404
from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import services as account_services
from accounts.numbers import ACCOUNT_NUMBER_REGEX
from accounts.selectors import accounts_of
from atm_project.pagination import IdCursorPagination
from atm_project.permissions import CustomerOrATMSession, atm_session
from atm_project.schema import IDEMPOTENCY_KEY_PARAMETER, problem
from atm_project.serializers import refuse_any_body_fields
from security.throttling import MONEY_RATE_LIMITS

from .. import selectors, services
from .money import money_movement_response
from .serializers import (
    AccountOpenSerializer,
    AccountSerializer,
    BalanceSerializer,
    EntrySerializer,
    HistoryFilterSerializer,
    HoldCaptureSerializer,
    HoldCreateSerializer,
    HoldFilterSerializer,
    HoldSerializer,
    HoldVoidSerializer,
    MovementSerializer,
    TransactionFilterSerializer,
    TransactionSerializer,
    TransferSerializer,
)
from .statements import (
    StatementNegotiation,
    mini_statement_response,
    mini_statement_schema,
    statement_response,
    statement_schema,
)

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"

_MONEY_PROBLEMS = {
    409: problem("account_not_active, or idempotency_key_in_use"),
    422: problem("insufficient_funds, daily_limit_exceeded or idempotency_key_reused"),
}


def visible_account_ids(request) -> set[int]:
    """The accounts whose money this request may see: the customer's, or an ATM session's card's
    account only."""
    accounts = accounts_of(request.user)
    session = atm_session(request)
    if session is not None:
        accounts = accounts.filter(number=session.account_number)
    return set(accounts.values_list("pk", flat=True))


def render_hold(hold) -> dict:
    return HoldSerializer(hold).data


# The body each action reads, for OPTIONS (the others describe the account).
_BODY_OF_ACTION = {
    "create": AccountOpenSerializer,
    "deposit": MovementSerializer,
    "withdraw": MovementSerializer,
    "holds": HoldCreateSerializer,
}


def _movement_schema(summary: str):
    return extend_schema(
        summary=summary,
        request=MovementSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: TransactionSerializer, **_MONEY_PROBLEMS},
    )


# Your accounts: list, open, read, close, and the money of each: /accounts/{number}/balance,
# deposit, withdraw, holds, transactions, mini-statement and statement. Served here, not in
# accounts, because an account as shown carries its balance and what its holds reserve, which the
# ledger keeps. (Comments, not a docstring: drf-spectacular would publish a docstring as the
# operations' description.)
@extend_schema_view(
    list=extend_schema(summary="Your accounts"),
    create=extend_schema(
        summary="Open an account",
        request=AccountOpenSerializer,
        responses={201: AccountSerializer},
    ),
    retrieve=extend_schema(summary="One of your accounts"),
)
class AccountViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AccountSerializer
    pagination_class = IdCursorPagination
    lookup_field = "number"
    lookup_value_regex = ACCOUNT_NUMBER_REGEX
    # An ATM session (card + PIN) may use these actions, on its card's account only.
    permission_classes = [CustomerOrATMSession]
    atm_actions = {"balance", "deposit", "withdraw", "holds", "transactions", "mini_statement"}
    # Actions whose posting checks the customer itself (atm_project/authentication.py).
    user_checked_in_database = {"deposit", "withdraw", "balance"}

    def get_queryset(self):
        # The available balance counts what pending holds reserve.
        return selectors.with_held_amount(accounts_of(self.request.user))

    def get_serializer_class(self):
        # What OPTIONS describes for each action's body (for OPTIONS, DRF's `action` is
        # "metadata"; the method it asks about names the action).
        action = self.action
        if action in (None, "metadata"):
            action = self.action_map.get(self.request.method.lower())
        return _BODY_OF_ACTION.get(action, AccountSerializer)

    def create(self, request, *args, **kwargs):
        params = AccountOpenSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = account_services.open_account(owner=request.user, **params.validated_data)
        return Response(self._shown(account), status=status.HTTP_201_CREATED)

    def _shown(self, account) -> dict:
        """The account as a response shows it, read back with what its holds reserve."""
        return AccountSerializer(self.get_queryset().get(pk=account.pk)).data

    @extend_schema(
        summary="Close an empty account",
        request=None,
        responses={
            200: AccountSerializer,
            409: problem("account_not_empty, or account_not_active (already closed)"),
        },
    )
    @action(detail=True, methods=["post"])
    def close(self, request, number=None):
        refuse_any_body_fields(request)
        account = account_services.close_account(number=number, owner=request.user)
        return Response(self._shown(account))

    @extend_schema(summary="Balance", responses={200: BalanceSerializer})
    @action(detail=True, methods=["get"])
    def balance(self, request, number=None):
        balance = selectors.balance_of(number=number, viewer=request.user)
        if balance is None:
            raise Http404
        return Response(BalanceSerializer(balance).data)

    @_movement_schema("Deposit cash")
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def deposit(self, request, number=None):
        return self._move(services.deposit, request, number)

    @_movement_schema("Withdraw cash")
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def withdraw(self, request, number=None):
        return self._move(services.withdraw, request, number)

    @extend_schema(
        summary="Hold cash for a withdrawal (two-phase: capture or void it afterwards)",
        request=HoldCreateSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: HoldSerializer, **_MONEY_PROBLEMS},
    )
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def holds(self, request, number=None):
        params = HoldCreateSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return money_movement_response(
            request,
            lambda **answer: services.create_hold(
                account_number=number, actor=request.user, **answer, **params.validated_data
            ),
            render=render_hold,
        )

    def _move(self, service, request, number):
        params = MovementSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return money_movement_response(
            request,
            lambda **answer: service(
                account_number=number, actor=request.user, **answer, **params.validated_data
            ),
            one_call=True,
        )

    @extend_schema(
        summary="History: the account's entries, newest first",
        parameters=[HistoryFilterSerializer],
        responses={200: EntrySerializer(many=True)},
    )
    @action(detail=True, methods=["get"])
    def transactions(self, request, number=None):
        account = self.get_object()
        filters = HistoryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        entries = selectors.account_history(account=account, filters=filters.validated_data)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)

    @mini_statement_schema
    @action(detail=True, methods=["get"], url_path="mini-statement")
    def mini_statement(self, request, number=None):
        return mini_statement_response(self.get_object())

    @statement_schema
    @action(detail=True, methods=["get"], content_negotiation_class=StatementNegotiation)
    def statement(self, request, number=None):
        return statement_response(self.get_object(), request.query_params)


class TransferViewSet(viewsets.GenericViewSet):
    serializer_class = TransferSerializer
    throttle_classes = MONEY_RATE_LIMITS
    # An ATM session may transfer from its card's account only.
    permission_classes = [CustomerOrATMSession]
    atm_actions = {"create"}
    atm_account_field = "from_account"
    user_checked_in_database = {"create"}

    @extend_schema(
        summary="Transfer between accounts",
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: TransactionSerializer,
            409: problem("account_not_active, or idempotency_key_in_use"),
            422: problem("insufficient_funds, currency_mismatch or idempotency_key_reused"),
        },
    )
    def create(self, request):
        params = TransferSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return money_movement_response(
            request,
            lambda **answer: services.transfer(
                actor=request.user, **answer, **params.validated_data
            ),
            one_call=True,
        )


@extend_schema_view(
    list=extend_schema(summary="Your transactions", parameters=[TransactionFilterSerializer]),
    retrieve=extend_schema(summary="One of your transactions"),
)
class TransactionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = TransactionSerializer
    lookup_value_regex = UUID_REGEX
    permission_classes = [CustomerOrATMSession]
    atm_actions = {"list", "retrieve"}

    @cached_property
    def visible_account_ids(self) -> set[int]:
        return visible_account_ids(self.request)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["visible_account_ids"] = self.visible_account_ids
        return context

    def get_queryset(self):
        filters = {}
        if self.action == "list":
            params = TransactionFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            filters = params.validated_data
        return selectors.transactions_visible_to(
            account_ids=self.visible_account_ids, filters=filters
        )


_HOLD_PROBLEMS_409 = problem(
    "hold_not_pending (captured, voided or expired), or idempotency_key_in_use"
)


@extend_schema_view(
    list=extend_schema(summary="Your holds", parameters=[HoldFilterSerializer]),
    retrieve=extend_schema(summary="One of your holds"),
)
class HoldViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = HoldSerializer
    lookup_value_regex = UUID_REGEX
    # An ATM session works on the holds of its card's account only (get_queryset narrows them:
    # any other hold is a 404, like a missing one).
    permission_classes = [CustomerOrATMSession]
    atm_actions = {"list", "retrieve", "capture", "void"}
    # A 404 for someone else's hold is audited as an access attempt (audit.access).
    audited_lookups = {"pk": ("transactions.Hold", "pk")}

    def get_queryset(self):
        filters = {}
        if self.action == "list":
            params = HoldFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            filters = params.validated_data
        return selectors.holds_visible_to(
            account_ids=visible_account_ids(self.request), filters=filters
        )

    @extend_schema(
        summary="Capture a hold: post its withdrawal (the whole hold, or less)",
        request=HoldCaptureSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            201: TransactionSerializer,
            409: _HOLD_PROBLEMS_409,
            422: problem("capture_exceeds_hold or idempotency_key_reused"),
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def capture(self, request, pk=None):
        return self._settle(services.capture_hold, HoldCaptureSerializer, request)

    @extend_schema(
        summary="Void a hold: release its money, post nothing",
        request=HoldVoidSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={
            200: HoldSerializer,
            409: _HOLD_PROBLEMS_409,
            422: problem("idempotency_key_reused"),
        },
    )
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def void(self, request, pk=None):
        return self._settle(
            services.void_hold, HoldVoidSerializer, request, render=render_hold, success_status=200
        )

    def _settle(self, service, params_class, request, **answer):
        """Capture or void the hold of the URL (one of yours): validate the body, then run the
        service under the request's Idempotency-Key."""
        params = params_class(data=request.data)
        params.is_valid(raise_exception=True)
        hold = self.get_object()
        return money_movement_response(
            request,
            lambda **answer: service(
                hold_id=hold.pk, actor=request.user, **answer, **params.validated_data
            ),
            **answer,
        )
