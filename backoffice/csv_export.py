"""Streamed CSV downloads for the admin: rows are written as they are read from a database
cursor, so memory stays constant however many rows are exported."""

import csv
from collections.abc import Iterable, Iterator

from django.http import StreamingHttpResponse
from django.utils import timezone

from transactions.statements import _csv_cell as csv_cell

EXPORT_CHUNK = 2000


class _Echo:
    """csv.writer writes into this and gets the line back, so each row is streamed as made."""

    def write(self, value: str) -> str:
        return value


def _lines(header: Iterable[str], rows: Iterable[Iterable]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(header)
    for row in rows:
        # Descriptions and usernames are customers' text: never a spreadsheet formula.
        yield writer.writerow([csv_cell(value) for value in row])


def csv_download(*, name: str, header: Iterable[str], rows: Iterable[Iterable]):
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response = StreamingHttpResponse(_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
