from django.conf import settings
from rest_framework import serializers

from atm_project.fields import MoneyField
from atm_project.serializers import RefuseUnknownFields

from ..models import Account


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
