"""Streaming CSV for every export (statements, the audit trail): one writer, one cell rule."""

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal


def csv_lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The header, then one CSV line per row, each produced when asked for (constant memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(list(header))
    for row in rows:
        yield writer.writerow([csv_cell(value) for value in row])


def csv_cell(value) -> str:
    """Text that a spreadsheet would run as a formula is prefixed with ' (OWASP CSV injection);
    signed amounts such as -30.00 are numbers and stay as they are."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return text.strip() == text


class _Echo:
    """A file-like object whose write() returns what it was given, for streaming csv.writer."""

    def write(self, value: str) -> str:
        return value
