"""The money test suite runs against both posting engines on PostgreSQL (settings.LEDGER_ENGINE:
the Python engine, and the SQL engine's one call of `ledger_post`); SQLite has the Python one."""

import os

import pytest

ENGINES = (
    ["python", "sql"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else ["python"]
)


@pytest.fixture(autouse=True, params=ENGINES)
def ledger_engine(request, settings) -> str:
    """The engine every service call, request and server of the test posts with."""
    settings.LEDGER_ENGINE = request.param
    return request.param
