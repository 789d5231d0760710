"""What the bench reads from PostgreSQL: waiting backends (sampled) and PL/pgSQL calls."""

import threading
import time

import psycopg
import pytest
from django.db import connection

from atm_project.testing.live_server import server_database_url
from bench.harness import BenchError, libpq_url
from bench.pgstats import LockWaitSampler, calls_per_transaction, summarize_waits

ADVISORY_KEY = 73112468


def test_waits_are_summarised_as_mean_max_and_share_of_samples_with_a_wait():
    assert summarize_waits([0, 2, 4, 0, 0, 0, 1, 1]) == {
        "samples": 8,
        "mean": 1.0,
        "max": 4,
        "share_waiting": 0.5,
    }


def test_no_sample_is_an_error_not_a_quiet_run():
    with pytest.raises(BenchError, match="no sample"):
        summarize_waits([])


def test_calls_are_counted_per_transaction_posted_between_the_readings():
    before = {"transactions": 1000, "functions": {"check_entry": 2000, "unused": 5}}
    after = {
        "transactions": 1400,
        "functions": {"check_entry": 2800, "unused": 5, "post_transfer": 400},
    }

    assert calls_per_transaction(before, after) == {
        "transactions": 400,
        "per_transaction": {"check_entry": 2.0, "post_transfer": 1.0},
    }


def test_counters_with_nothing_posted_between_them_are_an_error():
    reading = {"transactions": 10, "functions": {}}
    with pytest.raises(BenchError, match="no transaction"):
        calls_per_transaction(reading, reading)


def wait_for(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.mark.postgres
@pytest.mark.django_db
def test_the_sampler_counts_a_backend_while_it_waits_on_a_lock_and_not_after(requires_postgres):
    url = libpq_url(server_database_url())
    with (
        psycopg.connect(url, autocommit=True) as holder,
        psycopg.connect(url, autocommit=True) as waiter,
    ):
        holder.execute("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
        blocked = threading.Thread(
            target=waiter.execute, args=("SELECT pg_advisory_lock(%s)", [ADVISORY_KEY])
        )
        with LockWaitSampler(url, connection.settings_dict["NAME"], interval=0.01) as sampler:
            wait_for(lambda: len(sampler.samples) >= 3)
            blocked.start()
            wait_for(lambda: 1 in sampler.samples)
            holder.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])
            blocked.join(10)
            waited = len(sampler.samples)
            wait_for(lambda: len(sampler.samples) >= waited + 3)
        waiter.execute("SELECT pg_advisory_unlock(%s)", [ADVISORY_KEY])

    summary = sampler.summary()
    assert sampler.samples[:3] == [0, 0, 0]
    assert sampler.samples[-2:] == [0, 0]
    assert summary["max"] == 1
    assert 0 < summary["mean"] < 1
