"""The bench writes history as the services would (bench/run.py does not import the app)."""

from accounts.models import CASH_SUBACCOUNTS
from bench import run


def test_the_bench_shards_cash_legs_like_the_services():
    assert run.CASH_SUBACCOUNTS == CASH_SUBACCOUNTS
