"""What the bench reads from wrk, pgbench and its environment."""

import pytest

from bench.harness import BenchError
from bench.run import engines_from, parse_pgbench, parse_wrk

# pgbench 15's summary, as it printed it on the bench machine.
PGBENCH_OUTPUT = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
starting vacuum...end.
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 8
query mode: simple
number of clients: 2
number of threads: 1
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 761
number of failed transactions: 0 (0.000%)
latency average = 2.612 ms
initial connection time = 8.614 ms
tps = 765.775375 (without initial connection time)
"""


def test_pgbench_tps_and_mean_latency_are_read_from_its_summary():
    assert parse_pgbench(PGBENCH_OUTPUT) == {"tps": 765.775375, "latency_avg_ms": 2.612}


def test_a_pgbench_summary_without_tps_is_an_error_not_zero():
    with pytest.raises(BenchError, match="TPS"):
        parse_pgbench(PGBENCH_OUTPUT.replace("tps = ", "tps: "))


def test_wrk_results_are_read_from_the_line_the_script_prints():
    stdout = (
        "Running 15s test @ http://127.0.0.1:8000\n"
        "  2 threads and 16 connections\n"
        'BENCH_JSON {"requests":1107,"duration_us":15012000,"p50_us":196725,"p90_us":348835,'
        '"p99_us":490670,"mean_us":215940.4,"max_us":812000,"non2xx":2,"socket_errors":1}\n'
    )

    assert parse_wrk(stdout) == {
        "requests": 1107,
        "per_s": 73.7,
        "p50_ms": 196.725,
        "p90_ms": 348.835,
        "p99_ms": 490.67,
        "mean_ms": 215.94,
        "non2xx": 2,
        "socket_errors": 1,
        "duration_s": 15.0,
    }


def test_wrk_output_without_the_result_line_is_an_error():
    with pytest.raises(BenchError, match="no result"):
        parse_wrk("Running 15s test @ http://127.0.0.1:8000\n")


@pytest.mark.parametrize(
    ("text", "engines"),
    [("python,sql", ["python", "sql"]), ("sql, python", ["sql", "python"]), ("python", ["python"])],
)
def test_the_engines_run_in_the_order_given(text, engines):
    assert engines_from(text) == engines


@pytest.mark.parametrize("text", ["", ",", "python,python", "orm", "python,pl"])
def test_an_unknown_repeated_or_missing_engine_is_refused(text):
    with pytest.raises(BenchError, match="BENCH_ENGINES"):
        engines_from(text)
