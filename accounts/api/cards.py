"""Card endpoints: issuing a card on an account, and signing in at the ATM with card + PIN."""

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from atm_project.fields import StrictRegexField
from atm_project.permissions import IsATMSession
from atm_project.schema import problem
from atm_project.serializers import RefuseUnknownFields, refuse_any_body_fields
from security.throttling import CARD_RATE_LIMITS

from .. import cards
from ..tokens import ACCOUNT_CLAIM, ATMAccessToken, ATMSessionTooOld


@extend_schema_field(
    {
        "type": "string",
        "pattern": "^[0-9]{4,6}$",
        "not": {"enum": cards.trivially_weak_pins()},
        "example": "8264",
    }
)
class ChosenPinField(StrictRegexField):
    """A new PIN: the schema lists the weak PINs refused, as accounts.cards.pin_problem does."""


class CardIssueSerializer(RefuseUnknownFields, serializers.Serializer):
    pin = ChosenPinField(
        r"^[0-9]{4,6}$",
        write_only=True,
        trim_whitespace=False,
        error_messages={"invalid": "A PIN is 4 to 6 digits."},
        help_text="4 to 6 digits; not one digit repeated, not a run like 1234, 9876 or 7890.",
    )


class IssuedCardSerializer(serializers.Serializer):
    """The only place a card's full number is ever shown."""

    card_number = serializers.CharField(source="number")
    account_number = serializers.CharField(source="account.number")
    status = serializers.CharField()
    expires_on = serializers.DateField()


class CardSignInSerializer(RefuseUnknownFields, serializers.Serializer):
    card_number = StrictRegexField(
        r"^[0-9]{16}$", error_messages={"invalid": "A card number is 16 digits."}
    )
    pin = StrictRegexField(
        r"^[0-9]{4,6}$",
        trim_whitespace=False,
        write_only=True,
        error_messages={"invalid": "A PIN is 4 to 6 digits."},
    )


class ATMSessionSerializer(serializers.Serializer):
    access = serializers.CharField(help_text="ATM session token: no refresh, one account only.")
    account_number = serializers.CharField()
    expires_in = serializers.IntegerField(help_text="Seconds until the token expires.")


class CardIssueView(APIView):
    @extend_schema(
        summary="Issue a card on one of your accounts",
        description="The only response that shows the card's full number; elsewhere it is "
        "masked as `•••• 7899`. The account must be yours (else 404) and active (else 409).",
        request=CardIssueSerializer,
        responses={201: IssuedCardSerializer, 409: problem("account_not_active")},
    )
    def post(self, request, number: str):
        params = CardIssueSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        card = cards.issue_card(
            account_number=number, owner=request.user, pin=params.validated_data["pin"]
        )
        return Response(IssuedCardSerializer(card).data, status=status.HTTP_201_CREATED)


# A plain view, so the rate limits can wrap its post.
class CardSignInView(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get_authenticate_header(self, request) -> str:
        # Without authenticators DRF would turn a wrong PIN's 401 into a 403; a wrong credential
        # is a 401, as on the token endpoint.
        return 'Bearer realm="api"'

    # 10/min per IP and 5/min per card (docs/api.md), on top of the card's 3-wrong-PINs block.
    throttle_classes = CARD_RATE_LIMITS

    @extend_schema(
        summary="Sign in at the ATM with card number and PIN",
        description="Returns an ATM session token: 2 minutes, no refresh, usable only for the "
        "card's account (balance, deposit, withdraw, transactions, mini-statement, transfers "
        "from it; anything else is 403). An unknown card answers like a wrong PIN. The third "
        "wrong PIN in a row blocks the card.",
        request=CardSignInSerializer,
        responses={
            200: ATMSessionSerializer,
            401: problem("authentication_failed: wrong card number or PIN, or an expired card"),
            409: problem("account_not_active: the card's account is closed"),
            423: problem("card_blocked: three wrong PINs, or blocked by staff"),
        },
    )
    def post(self, request):
        params = CardSignInSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        card = cards.sign_in_with_card(**params.validated_data)
        return atm_session_response(ATMAccessToken.for_card(card))


def atm_session_response(token: ATMAccessToken) -> Response:
    session = {
        "access": str(token),
        "account_number": token[ACCOUNT_CLAIM],
        "expires_in": int(ATMAccessToken.lifetime.total_seconds()),
    }
    return Response(ATMSessionSerializer(session).data)


class CardSessionExtendView(APIView):
    permission_classes = [IsATMSession]

    @extend_schema(
        summary="Extend an ATM session",
        description="Takes the ATM session token in the Authorization header and returns a "
        "fresh one for the same card and account, valid 2 minutes. A session can be extended "
        "until `ATM_SESSION_MAX_SECONDS` (default 600) after the card sign-in; after that the "
        "customer signs in with card and PIN again. A customer's token is refused (403).",
        request=None,
        responses={
            200: ATMSessionSerializer,
            401: problem("authentication_failed: the session is too old, or the token expired"),
            403: problem("permission_denied: not an ATM session, or the card was blocked"),
        },
    )
    def post(self, request):
        refuse_any_body_fields(request)
        try:
            token = request.auth.extended(request.user)
        except ATMSessionTooOld:
            raise AuthenticationFailed(
                f"An ATM session lasts at most {settings.ATM_SESSION_MAX_SECONDS // 60} minutes; "
                "sign in with your card again."
            ) from None
        return atm_session_response(token)
