from rest_framework import serializers

from accounts.numbers import ACCOUNT_NUMBER_REGEX
from atm_project.fields import AmountField, MoneyField, StrictCharField, StrictRegexField
from atm_project.serializers import RefuseUnknownFields

from ..models import Entry, Transaction


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
        ]
        read_only_fields = fields

    def to_representation(self, instance: Transaction) -> dict:
        data = {
            "id": str(instance.id),
            "kind": instance.kind,
            "amount": self.fields["amount"].to_representation(instance.amount),
            "currency": instance.currency,
            "status": instance.status,
            "description": instance.description,
            "created_at": self.fields["created_at"].to_representation(instance.created_at),
        }
        if instance.counterparty_id is None:
            data["account_number"] = instance.account.number
        else:
            data["from_account"] = instance.account.number
            data["to_account"] = instance.counterparty.number
        balance_after = self._visible_balance_after(instance)
        data["balance_after"] = (
            None
            if balance_after is None
            else self.fields["balance_after"].to_representation(balance_after)
        )
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
