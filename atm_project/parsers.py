"""JSON parsing that never lets a float near money, and never guesses."""

import json
from decimal import Decimal, DecimalException

from django.utils.http import parse_header_parameters
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

MALFORMED = "Malformed JSON: the request body could not be parsed."


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


class DuplicateKey(ValueError):
    pass


def _object_without_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
    """Which of two values a client meant is not ours to guess: a repeated key is refused."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKey(key)
        result[key] = value
    return result


class StrictJSONParser(JSONParser):
    """Numbers with a fraction or exponent become Decimal, not float; NaN/Infinity, numbers no
    Decimal can hold and duplicate keys are refused, all as 400 `parse_error`."""

    def parse(self, stream, media_type=None, parser_context=None):
        # The charset the client named, not Django's fallback to UTF-8 for one it does not know.
        encoding = parse_header_parameters(media_type or "")[1].get("charset", "utf-8")
        try:
            text = stream.read().decode(encoding) if stream is not None else ""
            return json.loads(
                text,
                parse_float=Decimal,
                parse_constant=_reject_constant,
                object_pairs_hook=_object_without_duplicate_keys,
            )
        except LookupError as exc:
            # An unknown charset, or a codec that is not a text encoding (base64, hex, rot13).
            raise ParseError(f'Unusable charset "{encoding}": send UTF-8.') from exc
        except DuplicateKey as exc:
            raise ParseError(f'Malformed JSON: the key "{exc}" appears more than once.') from exc
        # ValueError also covers an integer longer than Python converts (4300 digits);
        # DecimalException an exponent beyond what Decimal holds; RecursionError nesting deeper
        # than Python's stack, which no real body needs.
        except (ValueError, UnicodeDecodeError, DecimalException, RecursionError) as exc:
            raise ParseError(MALFORMED) from exc
