from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from atm_project.pagination import IdCursorPagination
from atm_project.permissions import CustomerOrATMSession
from atm_project.schema import IDEMPOTENCY_KEY_PARAMETER, problem
from security.throttling import MONEY_RATE_LIMITS
from transactions import selectors as ledger_selectors
from transactions import services as ledger
from transactions.api.money import money_movement_response
from transactions.api.serializers import (
    EntrySerializer,
    HistoryFilterSerializer,
    MovementSerializer,
    TransactionSerializer,
)
from transactions.api.statements import (
    StatementNegotiation,
    mini_statement_response,
    mini_statement_schema,
    statement_response,
    statement_schema,
)

from .. import selectors, services
from .serializers import AccountOpenSerializer, AccountSerializer, BalanceSerializer

ACCOUNT_NUMBER_REGEX = r"[0-9]{6,20}"

_MONEY_PROBLEMS = {
    409: problem("account_not_active, or idempotency_key_in_use"),
    422: problem("insufficient_funds, daily_limit_exceeded or idempotency_key_reused"),
}


def _movement_schema(summary: str):
    return extend_schema(
        summary=summary,
        request=MovementSerializer,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: TransactionSerializer, **_MONEY_PROBLEMS},
    )


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
    atm_actions = {"balance", "deposit", "withdraw", "transactions", "mini_statement"}

    def get_queryset(self):
        return selectors.accounts_of(self.request.user)

    def create(self, request, *args, **kwargs):
        params = AccountOpenSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = services.open_account(owner=request.user, **params.validated_data)
        return Response(AccountSerializer(account).data, status=status.HTTP_201_CREATED)

    @extend_schema(summary="Balance", responses={200: BalanceSerializer})
    @action(detail=True, methods=["get"])
    def balance(self, request, number=None):
        account = self.get_object()
        account.as_of = timezone.now()
        return Response(BalanceSerializer(account).data)

    @_movement_schema("Deposit cash")
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def deposit(self, request, number=None):
        return self._move(ledger.deposit, request, number)

    @_movement_schema("Withdraw cash")
    @action(detail=True, methods=["post"], throttle_classes=MONEY_RATE_LIMITS)
    def withdraw(self, request, number=None):
        return self._move(ledger.withdraw, request, number)

    def _move(self, service, request, number):
        params = MovementSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        return money_movement_response(
            request,
            lambda on_posted: service(
                account_number=number,
                actor=request.user,
                on_posted=on_posted,
                **params.validated_data,
            ),
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
        entries = ledger_selectors.account_history(account=account, filters=filters.validated_data)
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(EntrySerializer(page, many=True).data)

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
        account = services.close_account(number=number, owner=request.user)
        return Response(AccountSerializer(account).data)

    @mini_statement_schema
    @action(detail=True, methods=["get"], url_path="mini-statement")
    def mini_statement(self, request, number=None):
        return mini_statement_response(self.get_object())

    @statement_schema
    @action(detail=True, methods=["get"], content_negotiation_class=StatementNegotiation)
    def statement(self, request, number=None):
        return statement_response(self.get_object(), request.query_params)
