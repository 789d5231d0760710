from django.utils.functional import cached_property
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets

from accounts.selectors import accounts_of
from atm_project.permissions import CustomerOrATMSession, atm_session
from atm_project.schema import IDEMPOTENCY_KEY_PARAMETER, problem
from security.throttling import MONEY_RATE_LIMITS

from .. import selectors, services
from .money import money_movement_response
from .serializers import TransactionFilterSerializer, TransactionSerializer, TransferSerializer

UUID_REGEX = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"


class TransferViewSet(viewsets.GenericViewSet):
    serializer_class = TransferSerializer
    throttle_classes = MONEY_RATE_LIMITS
    # An ATM session may transfer from its card's account only.
    permission_classes = [CustomerOrATMSession]
    atm_actions = {"create"}
    atm_account_field = "from_account"

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
            lambda on_posted: services.transfer(
                actor=request.user, on_posted=on_posted, **params.validated_data
            ),
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
        accounts = accounts_of(self.request.user)
        session = atm_session(self.request)
        if session is not None:  # an ATM sees its card's account only
            accounts = accounts.filter(number=session.account_number)
        return set(accounts.values_list("pk", flat=True))

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
