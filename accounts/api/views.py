from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from atm_project.pagination import IdCursorPagination
from atm_project.schema import problem
from transactions.selectors import with_held_amount

from .. import selectors, services
from ..numbers import ACCOUNT_NUMBER_REGEX
from .serializers import AccountOpenSerializer, AccountSerializer


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
    # Opening, reading and closing your accounts. The money of an account (balance, deposits,
    # withdrawals, history, statements) is served by transactions.api, on the same routes.
    serializer_class = AccountSerializer
    pagination_class = IdCursorPagination
    lookup_field = "number"
    lookup_value_regex = ACCOUNT_NUMBER_REGEX

    def get_queryset(self):
        # The available balance counts pending holds, which the ledger (transactions) keeps.
        return with_held_amount(selectors.accounts_of(self.request.user))

    def create(self, request, *args, **kwargs):
        params = AccountOpenSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        account = services.open_account(owner=request.user, **params.validated_data)
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
        account = services.close_account(number=number, owner=request.user)
        return Response(self._shown(account))
