from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from accounts.models import Account
from accounts.numbers import ACCOUNT_NUMBER_REGEX
from atm_project.fields import (
    AmountField,
    MoneyField,
    StrictCharField,
    StrictIntegerField,
    StrictRegexField,
)
from atm_project.serializers import RefuseUnknownFields

from ..models import Entry, Hold, Transaction


def account_number_field(**kwargs) -> serializers.RegexField:
    return StrictRegexField(
        f"^{ACCOUNT_NUMBER_REGEX}$",
        max_length=20,
        error_messages={"invalid": "An account number is 6 to 20 digits."},
        **kwargs,
    )


class MovementSerializer(RefuseUnknownFields, serializers.Serializer):
    """Body of a deposit or withdrawal."""

    amount = AmountField()
    description = StrictCharField(max_length=255, required=False, default="")


class TransferSerializer(MovementSerializer):
    from_account = account_number_field()
    to_account = account_number_field()

    def validate(self, attrs):
        if attrs["from_account"] == attrs["to_account"]:
            raise serializers.ValidationError(
                {"to_account": ["Cannot transfer to the same account."]}
            )
        return attrs


# What TransactionSerializer and BalanceSerializer format with. A serializer's own `fields` are
# built (deep-copied) per instance, a millisecond of CPU per answer; these need no binding, so
# one of each serves all.
_MONEY = MoneyField()
_MOMENT = serializers.DateTimeField()


class TransactionSerializer(serializers.ModelSerializer):
    """A transaction as the viewer sees it.

    `balance_after` is the balance, right after the transaction, of the account the request acted
    on; when the viewer does not own that account (an incoming transfer) it is the balance of the
    viewer's own account, never someone else's. The serializer context carries
    `visible_account_ids`, the accounts whose balances this viewer may see.
    """

    amount = MoneyField()
    account_number = serializers.CharField(required=False, help_text="Deposits and withdrawals.")
    from_account = serializers.CharField(required=False, help_text="Transfers.")
    to_account = serializers.CharField(required=False, help_text="Transfers.")
    balance_after = MoneyField(allow_null=True)
    hold_id = serializers.UUIDField(
        required=False, help_text="A withdrawal that captured a hold: that hold."
    )

    class Meta:
        model = Transaction
        fields = [
            "id",
            "kind",
            "amount",
            "currency",
            "status",
            "description",
            "created_at",
            "account_number",
            "from_account",
            "to_account",
            "balance_after",
            "hold_id",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Transaction) -> dict:
        data = {
            "id": str(instance.id),
            "kind": instance.kind,
            "amount": _MONEY.to_representation(instance.amount),
            "currency": instance.currency,
            "status": instance.status,
            "description": instance.description,
            "created_at": _MOMENT.to_representation(instance.created_at),
        }
        if instance.counterparty_id is None:
            data["account_number"] = instance.account.number
        else:
            data["from_account"] = instance.account.number
            data["to_account"] = instance.counterparty.number
        balance_after = self._visible_balance_after(instance)
        data["balance_after"] = (
            None if balance_after is None else _MONEY.to_representation(balance_after)
        )
        if instance.hold_id is not None:
            data["hold_id"] = str(instance.hold_id)
        return data

    def _visible_balance_after(self, instance: Transaction):
        visible = self.context.get("visible_account_ids", set())
        entries = getattr(instance, "legs", None) or instance.entries.all()
        by_account = {entry.account_id: entry.balance_after for entry in entries}
        if instance.account_id in visible:
            return by_account.get(instance.account_id)
        for account_id, balance_after in by_account.items():
            if account_id in visible:
                return balance_after
        return None


class EntrySerializer(serializers.ModelSerializer):
    transaction_id = serializers.UUIDField(read_only=True)
    amount = MoneyField(help_text='Signed: money in is "100.00", money out "-30.00".')
    balance_after = MoneyField()
    description = serializers.CharField(source="transaction.description", read_only=True)
    counterparty = serializers.CharField(
        source="counterparty_number", allow_null=True, read_only=True
    )

    class Meta:
        model = Entry
        fields = [
            "transaction_id",
            "kind",
            "amount",
            "balance_after",
            "description",
            "created_at",
            "counterparty",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Entry) -> dict:
        data = super().to_representation(instance)
        data["counterparty"] = data["counterparty"] or None
        return data


class HistoryFilterSerializer(serializers.Serializer):
    """Query filters of an account's history and of the transaction list."""

    kind = serializers.ChoiceField(choices=Transaction.Kind.choices, required=False)
    created_after = serializers.DateTimeField(required=False)
    created_before = serializers.DateTimeField(required=False)

    def to_internal_value(self, data):
        # DRF reads "?kind=" as "not given" (HTML form rules); a filter sent empty is a client's
        # mistake, and answering with the unfiltered list would hide it.
        blank = {name: ["May not be blank."] for name in self.fields if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class TransactionFilterSerializer(HistoryFilterSerializer):
    account = account_number_field(required=False)


class BalanceSerializer(serializers.Serializer):
    account_number = serializers.CharField(source="number")
    balance = MoneyField()
    available_balance = MoneyField()
    currency = serializers.CharField()
    as_of = serializers.DateTimeField()

    def to_representation(self, instance) -> dict:
        # With the shared formatters, not the fields declared above (for the schema): building
        # those costs more CPU than the rest of a balance read (see TransactionSerializer).
        return {
            "account_number": instance.number,
            "balance": _MONEY.to_representation(instance.balance),
            "available_balance": _MONEY.to_representation(instance.available_balance),
            "currency": instance.currency,
            "as_of": _MOMENT.to_representation(instance.as_of),
        }


class HoldCreateSerializer(MovementSerializer):
    """Body of a hold's creation."""

    expires_in = StrictIntegerField(
        required=False,
        min_value=settings.HOLD_MIN_SECONDS,
        max_value=settings.HOLD_MAX_SECONDS,
        help_text="Seconds the hold lives unless captured or voided; default HOLD_DEFAULT_SECONDS "
        f"({settings.HOLD_DEFAULT_SECONDS}).",
    )


class HoldCaptureSerializer(RefuseUnknownFields, serializers.Serializer):
    amount = AmountField(required=False, help_text="Default: the whole hold.")


class HoldVoidSerializer(RefuseUnknownFields, serializers.Serializer):
    reason = serializers.ChoiceField(choices=Hold.VoidReason.choices, default=Hold.VoidReason.OTHER)


class HoldFilterSerializer(serializers.Serializer):
    account = account_number_field(required=False)
    status = serializers.ChoiceField(choices=Hold.Status.choices, required=False)

    def to_internal_value(self, data):
        # As for the history's filters: a filter sent empty is refused, not ignored.
        blank = {name: ["May not be blank."] for name in self.fields if data.get(name) == ""}
        if blank:
            raise serializers.ValidationError(blank)
        return super().to_internal_value(data)


class HoldSerializer(serializers.ModelSerializer):
    """A hold. `status` is as of now: a pending hold past `expires_at` shows as expired whether
    or not its expiry has been recorded yet."""

    account_number = serializers.CharField(source="account.number")
    amount = MoneyField()
    captured_amount = MoneyField(allow_null=True)
    status = serializers.ChoiceField(choices=Hold.Status.choices)
    void_reason = serializers.ChoiceField(choices=Hold.VoidReason.choices, allow_null=True)
    transaction_id = serializers.UUIDField(
        allow_null=True, help_text="The withdrawal that captured the hold."
    )

    class Meta:
        model = Hold
        fields = [
            "id",
            "account_number",
            "amount",
            "captured_amount",
            "currency",
            "status",
            "description",
            "void_reason",
            "created_at",
            "expires_at",
            "transaction_id",
        ]
        read_only_fields = fields

    def to_representation(self, instance: Hold) -> dict:
        captured = instance.status == Hold.Status.CAPTURED
        field = self.fields
        return {
            "id": str(instance.id),
            "account_number": instance.account.number,
            "amount": field["amount"].to_representation(instance.amount),
            "captured_amount": (
                field["captured_amount"].to_representation(instance.captured_amount)
                if captured
                else None
            ),
            "currency": instance.currency,
            "status": instance.status_at(timezone.now()),
            "description": instance.description,
            "void_reason": instance.void_reason or None,
            "created_at": field["created_at"].to_representation(instance.created_at),
            "expires_at": field["expires_at"].to_representation(instance.expires_at),
            # Only a captured hold has a withdrawal: the others are answered without a query.
            "transaction_id": str(instance.withdrawal.pk) if captured else None,
        }


class AccountSerializer(serializers.ModelSerializer):
    balance = MoneyField()
    available_balance = MoneyField()
    daily_withdrawal_limit = MoneyField()

    class Meta:
        model = Account
        fields = [
            "number",
            "kind",
            "currency",
            "balance",
            "available_balance",
            "status",
            "daily_withdrawal_limit",
            "opened_at",
        ]
        read_only_fields = fields


class AccountOpenSerializer(RefuseUnknownFields, serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[Account.Kind.CHECKING, Account.Kind.SAVINGS], default=Account.Kind.CHECKING
    )
    currency = serializers.ChoiceField(choices=settings.SUPPORTED_CURRENCIES, default="USD")
