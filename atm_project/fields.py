"""Serializer fields shared by every app."""

import re
from decimal import Decimal, InvalidOperation

from django.conf import settings
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .money import CENT, amount_problem

# No leading zeros ("007" is refused), so the schema's pattern can say exactly what is accepted.
_AMOUNT_TEXT = re.compile(r"^(0|[1-9][0-9]{0,15})(\.[0-9]{1,2})?$")


def _integers_up_to(top: str) -> list[str]:
    """Regex alternatives matching the integers 1..top (no leading zeros)."""
    length = len(top)
    alternatives = [f"[1-9][0-9]{{0,{length - 2}}}"] if length > 1 else []
    for i, digit in enumerate(top):
        lowest = 1 if i == 0 else 0
        if int(digit) > lowest:
            alternatives.append(f"{top[:i]}[{lowest}-{int(digit) - 1}][0-9]{{{length - i - 1}}}")
    alternatives.append(top)
    return alternatives


def _fractions_up_to(cents: int) -> str:
    """An optional fraction of at most `cents` hundredths: ".5" is 50, ".05" is 5."""
    tens, units = divmod(cents, 10)
    options = [f"[0-{tens}]"]
    if tens:
        options.append(f"[0-{tens - 1}][0-9]")
    options.append(f"{tens}[0-{units}]")
    return rf"(\.({'|'.join(options)}))?"


def amount_pattern(maximum: Decimal) -> str:
    """The amount strings accepted: greater than 0, at most 2 places, at most `maximum`.

    A JSON Schema pattern has no arithmetic, so the bounds are spelled out digit by digit;
    clients (and "Try it out") then learn from the schema alone that "0" or "0.00" is refused.
    """
    whole, cents = divmod(int(maximum.quantize(CENT) * 100), 100)
    alternatives = [r"0\.(0[1-9]|[1-9][0-9]?)"]  # below 1
    if whole > 1:
        below = "|".join(_integers_up_to(str(whole - 1)))
        alternatives.append(rf"({below})(\.[0-9]{{1,2}})?")
    if whole >= 1:
        alternatives.append(f"{whole}{_fractions_up_to(cents)}")
    return "^(" + "|".join(alternatives) + ")$"


@extend_schema_field(
    {
        "oneOf": [
            {
                "type": "string",
                "pattern": amount_pattern(settings.MAX_TRANSACTION_AMOUNT),
                "example": "100.00",
            },
            {
                "type": "number",
                "minimum": 0.01,
                "maximum": float(settings.MAX_TRANSACTION_AMOUNT),
                "multipleOf": 0.01,
            },
        ],
        "description": f"Greater than 0, at most 2 decimal places, at most "
        f'{settings.MAX_TRANSACTION_AMOUNT}. A string like "12.50" (no leading zeros) or a '
        "number.",
    }
)
class AmountField(serializers.Field):
    """A money amount in: a JSON string like "10.50" or a JSON number; > 0, at most 2 places.

    Numbers arrive as Decimal (see StrictJSONParser), so no float is ever involved. Anything
    else (booleans, "1,000", " 5", NaN, 1e400, arrays, objects) is a validation error.
    """

    default_error_messages = {
        "invalid": 'Enter an amount as a string like "10.50" or a number.',
    }

    def to_internal_value(self, data) -> Decimal:
        amount = self._parse(data)
        # The same rule the ledger's services apply to every amount (atm_project.money).
        problem = amount_problem(amount)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return amount.quantize(CENT)

    def _parse(self, data) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, (str, int, Decimal)):
            self.fail("invalid")
        if isinstance(data, str):
            if not _AMOUNT_TEXT.match(data):
                self.fail("invalid")
            return Decimal(data)
        try:
            amount = Decimal(data)
        except InvalidOperation:
            self.fail("invalid")
        if not amount.is_finite():
            self.fail("invalid")
        return amount

    def to_representation(self, value) -> str:
        return f"{Decimal(value).quantize(CENT)}"


class MoneyField(serializers.DecimalField):
    """A money amount out: always a string with exactly two places."""

    def __init__(self, **kwargs):
        kwargs.setdefault("read_only", True)
        super().__init__(max_digits=18, decimal_places=2, coerce_to_string=True, **kwargs)


class StringOnly:
    """Text in: a JSON string and nothing else.

    DRF's text fields turn a JSON number into text (`"pin": 1234` becomes "1234"); the schema
    promises a string, and a bank API refuses what it does not document rather than guess.
    """

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictCharField(StringOnly, serializers.CharField):
    def __init__(self, **kwargs):
        # Taken as sent: DRF's trimming would turn "\x1c" into a blank, refused as missing,
        # where the schema (minLength 1) calls it present.
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)


class NoNullCharactersInSchema(OpenApiSerializerFieldExtension):
    """DRF's text fields refuse U+0000; say so in the schema, so clients (and the fuzzer) know
    that such a string is invalid rather than find out with a 400."""

    target_class = StrictCharField
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        # "+": an empty string stays the blank case drf-spectacular adds for allow_blank fields.
        schema.setdefault("pattern", "^[^\\u0000]+$")
        return schema


class StrictRegexField(StringOnly, serializers.RegexField):
    pass


class StrictEmailField(StringOnly, serializers.EmailField):
    pass


class StrictIntegerField(serializers.IntegerField):
    """A whole number in: a JSON integer and nothing else (not "300", 300.5, 300.0 or true)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)
