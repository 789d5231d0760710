"""Streaming CSV for every export (statements, the audit trail, the admin's ledger exports): one
writer, one cell rule. Rows are written as they are read from a database cursor, so memory stays
constant however many rows are exported."""

import csv
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.http import StreamingHttpResponse
from django.utils import timezone

# Rows fetched per round trip by the exports' database cursors.
EXPORT_CHUNK = 2000


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


def csv_download(*, name: str, header: Iterable[str], rows: Iterable[Iterable]):
    """A streamed `name-<UTC stamp>.csv` attachment of these rows (constant memory)."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
