"""Statements rendered: query validation, streamed JSON and CSV, OpenAPI docs.

The account views call `statement_response` and `mini_statement_response`; `manage.py statement`
prints the same `json_chunks` / `csv_chunks`. The statement itself is built by
`transactions.statements`.
"""

import json
from collections.abc import Iterator
from decimal import Decimal

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response

from atm_project.csv_export import csv_lines
from atm_project.fields import MoneyField

from ..statements import Statement, build_statement, mini_statement
from .serializers import EntrySerializer

CSV_COLUMNS = [
    "created_at",
    "transaction_id",
    "kind",
    "description",
    "counterparty",
    "amount",
    "balance_after",
]

_DATE = {"input_formats": ["%Y-%m-%d"], "help_text": "A day (YYYY-MM-DD) in the bank's time zone."}


class StatementQuerySerializer(serializers.Serializer):
    to = serializers.DateField(**_DATE)
    format = serializers.ChoiceField(
        choices=["json", "csv"], default="json", help_text="csv: a text/csv download."
    )

    def get_fields(self):
        # "from" is a Python keyword, so it cannot be declared as a class attribute.
        fields = {"from": serializers.DateField(**_DATE)}
        fields.update(super().get_fields())
        return fields


class StatementNegotiation(DefaultContentNegotiation):
    """`?format=` chooses the statement's own format, so DRF must not read it as a renderer
    choice (it would answer 404 to `format=csv`). Everything DRF renders here (the errors) is
    JSON."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def statement_response(account, query_params) -> StreamingHttpResponse:
    query = StatementQuerySerializer(data=query_params)
    query.is_valid(raise_exception=True)
    statement = build_statement(
        account=account,
        first_day=query.validated_data["from"],
        last_day=query.validated_data["to"],
    )
    if query.validated_data["format"] == "csv":
        response = StreamingHttpResponse(csv_chunks(statement), content_type="text/csv")
        response["Content-Disposition"] = f'attachment; filename="{csv_filename(statement)}"'
        return response
    return StreamingHttpResponse(json_chunks(statement), content_type="application/json")


def mini_statement_response(account) -> Response:
    statement = mini_statement(account)
    return Response(
        {
            "account_number": statement.account_number,
            "balance": _money(statement.balance),
            "entries": EntrySerializer(statement.entries, many=True).data,
        }
    )


def json_chunks(statement: Statement) -> Iterator[str]:
    """The statement as one JSON document, produced piece by piece."""
    head = json.dumps(_summary(statement))
    yield head[:-1] + ', "entries": ['
    separator = ""
    for row in _entry_rows(statement):
        yield separator + json.dumps(row, cls=DjangoJSONEncoder)
        separator = ", "
    yield "]}\n"


def csv_chunks(statement: Statement) -> Iterator[str]:
    """The statement's entries as CSV (a header row, then one row per entry, oldest first)."""
    rows = ([row[column] for column in CSV_COLUMNS] for row in _entry_rows(statement))
    return csv_lines(CSV_COLUMNS, rows)


def csv_filename(statement: Statement) -> str:
    return (
        f"statement-{statement.account_number}-"
        f"{statement.first_day.isoformat()}-{statement.last_day.isoformat()}.csv"
    )


def _summary(statement: Statement) -> dict:
    """Everything but the entries, in the order of the JSON document."""
    return {
        "account_number": statement.account_number,
        "from": statement.first_day.isoformat(),
        "to": statement.last_day.isoformat(),
        "opening_balance": _money(statement.opening_balance),
        "closing_balance": _money(statement.closing_balance),
        "total_credits": _money(statement.total_credits),
        "total_debits": _money(statement.total_debits),
    }


def _entry_rows(statement: Statement) -> Iterator[dict]:
    """The entries, oldest first, in the same shape as the account's history."""
    for chunk in statement.entry_chunks():
        yield from EntrySerializer(chunk, many=True).data


def _money(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.01")))


_StatementSerializer = inline_serializer(
    name="Statement",
    fields={
        "account_number": serializers.CharField(),
        "from": serializers.DateField(),
        "to": serializers.DateField(),
        "opening_balance": MoneyField(help_text="Balance at the start of `from`."),
        "closing_balance": MoneyField(
            help_text="opening_balance + total_credits - total_debits: the balance at the end "
            "of `to` (or now, for a period that has not ended)."
        ),
        "total_credits": MoneyField(),
        "total_debits": MoneyField(help_text="Positive: the money that left the account."),
        "entries": EntrySerializer(many=True, help_text="Oldest first."),
    },
)

statement_schema = extend_schema(
    summary="Statement for a period",
    description="Whole days in the bank's time zone, at most 366. JSON by default; "
    "`format=csv` downloads the entries as text/csv (header row, oldest first). Streamed.",
    parameters=[StatementQuerySerializer],
    responses={
        (200, "application/json"): _StatementSerializer,
        (200, "text/csv"): OpenApiResponse(
            response=OpenApiTypes.STR,
            description="Columns: created_at, transaction_id, kind, description, counterparty, "
            "amount, balance_after. Sent as an attachment.",
        ),
    },
)

mini_statement_schema = extend_schema(
    summary="Mini statement: balance and the last 10 entries",
    responses={
        200: inline_serializer(
            name="MiniStatement",
            fields={
                "account_number": serializers.CharField(),
                "balance": MoneyField(),
                "entries": EntrySerializer(many=True, help_text="Newest first."),
            },
        )
    },
)
