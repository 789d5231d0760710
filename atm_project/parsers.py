"""JSON parsing that never lets a float near money."""

import json
from decimal import Decimal

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class StrictJSONParser(JSONParser):
    """Numbers with a fraction or exponent become Decimal, not float; NaN/Infinity are refused."""

    def parse(self, stream, media_type=None, parser_context=None):
        parser_context = parser_context or {}
        encoding = parser_context.get("encoding", "utf-8")
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant)
        # RecursionError: nesting deeper than Python's stack, which no real body needs.
        except (ValueError, UnicodeDecodeError, RecursionError) as exc:
            raise ParseError("Malformed JSON: the request body could not be parsed.") from exc
