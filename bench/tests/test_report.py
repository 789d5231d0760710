"""The bench's verdicts and its table, from results made up here (no load, no server)."""

import pytest

from bench import report


def a_run(per_s: float, *, waits: float | None = 0.0, non2xx: int = 0, socket_errors: int = 0):
    run = {
        "requests": int(per_s * 10),
        "per_s": per_s,
        "p50_ms": 10.0,
        "p90_ms": 20.0,
        "p99_ms": 30.0,
        "mean_ms": 12.0,
        "non2xx": non2xx,
        "socket_errors": socket_errors,
        "duration_s": 10.0,
        "connections": 16,
    }
    if waits is not None:
        run["lock_waits"] = {"samples": 400, "mean": waits, "max": 3, "share_waiting": 0.1}
    return run


def clean_checks() -> dict:
    return {name: {"clean": True, "report": "ok"} for name in ("reconcile", "audit_chain")}


def an_engine(spread: float, **per_s) -> dict:
    """An engine's block: every run at `spread` req/s unless named otherwise."""
    runs = {name: a_run(per_s.get(name, spread)) for name in report.RUNS}
    return {
        "runs": runs,
        "plpgsql": {"transactions": 100, "per_transaction": {"post_transfer": 1.0}},
        "checks": clean_checks(),
    }


def atm_scenario(sessions_per_s: float, failed: int = 0) -> dict:
    return {
        "sessions": 90,
        "failed": failed,
        "sessions_per_s": sessions_per_s,
        "p50_ms": 1300.0,
        "p90_ms": 1800.0,
        "p99_ms": 2100.0,
        "step_mean_ms": {"card_sign_in": 850.0, "withdraw": 470.0},
        "atms": 8,
        "duration_s": 15.0,
    }


def made_up_results(engines: dict, default_engine: str = "sql") -> dict:
    """A whole bench's results, pgbench at 1000 TPS before and 3000 after (mean 2000)."""
    probes = {f"{kind}_{size}": a_run(50, waits=None) for size in ("small", "big")
              for kind in ("balance", "history")}  # fmt: skip
    results = {
        "machine": {"nproc": 2, "postgresql": "15.20", "loadavg_start": [1.0], "loadavg_end": [2]},
        "config": {"duration_s": 15, "wrk_connections": 16, "pgbench": "tpcb-like"},
        "pgbench_before": {"tps": 1000.0},
        "pgbench_after": {"tps": 3000.0},
        "engines": engines,
        "default_engine": {
            "engine": default_engine,
            "atm": {"atm_withdraw": atm_scenario(6.0), "atm_hold_capture": atm_scenario(5.2)},
            "checks": clean_checks(),
            "history": {
                "entries": {"small": 1000, "big": 1000000},
                "probes": probes,
                "balance_ratio": 1.01,
                "history_ratio": 0.5,
            },
        },
    }
    evaluate(results)
    return results


def evaluate(results: dict) -> None:
    for block in results["engines"].values():
        block["targets"] = report.evaluate_engine(block, report.pgbench_mean(results))
    results["default_engine"]["targets"] = report.evaluate_default(results["default_engine"])


def verdicts(block: dict) -> dict:
    return {name: check["pass"] for name, check in block["targets"].items()}


def test_transfers_are_measured_against_the_mean_of_pgbench_before_and_after():
    results = made_up_results(
        {"python": an_engine(299, balance=1000), "sql": an_engine(300, balance=1000)}
    )

    python, sql = results["engines"]["python"], results["engines"]["sql"]
    assert sql["targets"]["transfers_vs_pgbench"] == {
        "value": 0.15,
        "target": ">= 0.15",
        "pass": True,
    }
    assert python["targets"]["transfers_vs_pgbench"]["pass"] is False


def test_each_ratio_passes_at_its_target_and_fails_just_below_it():
    at_targets = an_engine(300, hot=240, hot_deposit=240, balance=750)
    just_below = an_engine(300, hot=239, hot_deposit=239, balance=749)

    results = made_up_results({"python": just_below, "sql": at_targets})

    ratios = ("hot_vs_spread", "hot_deposits_vs_pgbench", "reads_vs_transfers")
    sql, python = verdicts(results["engines"]["sql"]), verdicts(results["engines"]["python"])
    assert [sql[name] for name in ratios] == [True, True, True]
    assert [python[name] for name in ratios] == [False, False, False]


@pytest.mark.parametrize(("mean", "passes"), [(0.99, True), (1.0, False), (4.2, False)])
def test_the_spread_must_keep_fewer_than_one_backend_waiting_on_average(mean, passes):
    engine = an_engine(300)
    engine["runs"]["spread"]["lock_waits"]["mean"] = mean
    engine["runs"]["hot"]["lock_waits"]["mean"] = 9.0  # the hot account's own queue: no target

    results = made_up_results({"sql": engine})

    assert results["engines"]["sql"]["targets"]["spread_lock_waits"]["pass"] is passes


@pytest.mark.parametrize("failure", [{"non2xx": 1}, {"socket_errors": 1}])
def test_one_failed_request_in_any_run_fails_the_engine(failure):
    engine = an_engine(300)
    engine["runs"]["hot_deposit"].update(failure)

    results = made_up_results({"sql": engine})

    assert results["engines"]["sql"]["targets"]["failed_requests"] == {
        "value": 1,
        "target": "== 0",
        "pass": False,
    }


@pytest.mark.parametrize("where", ["python", "sql", "default"])
@pytest.mark.parametrize("check", ["reconcile", "audit_chain"])
def test_the_ledger_is_unclean_when_any_check_after_any_load_was(where, check):
    results = made_up_results({"python": an_engine(300), "sql": an_engine(300)})
    assert report.ledger_clean(results) is True
    block = results["default_engine"] if where == "default" else results["engines"][where]
    block["checks"][check] = {"clean": False, "report": "Audit chain broken after 7 events"}
    evaluate(results)

    assert report.ledger_clean(results) is False
    assert block["targets"][check] == {"value": False, "target": "== clean", "pass": False}
    assert "Audit chain broken after 7 events" in report.render(results)


def test_the_atm_path_and_history_are_checked_once_under_the_default_engine():
    results = made_up_results({"python": an_engine(300)})
    default = results["default_engine"]
    default["atm"]["atm_hold_capture"]["failed"] = 2
    default["history"]["history_ratio"] = 1.6
    evaluate(results)

    assert verdicts(default) == {
        "atm_failed_sessions": False,
        "history_balance_ratio": True,
        "history_page_ratio": False,
        "reconcile": True,
        "audit_chain": True,
    }


def line_of(text: str, label: str) -> str:
    (line,) = [line for line in text.splitlines() if line.startswith(label)]
    return line


def test_the_table_shows_the_engines_side_by_side_each_value_under_its_own_engine():
    results = made_up_results(
        {"python": an_engine(74, balance=238), "sql": an_engine(412, balance=1300)}
    )

    table = report.table(results)

    header = table.splitlines()[0]
    python_end, sql_end = header.index("python") + len("python"), header.index("sql") + len("sql")
    spread = line_of(table, report.RUNS["spread"])
    assert spread[python_end - 2 : python_end] == "74"
    assert spread[sql_end - 3 : sql_end] == "412"
    ratio = line_of(table, report.ENGINE_TARGETS["transfers_vs_pgbench"].label)
    assert ratio.split()[-6:] == ["0.037", "FAIL", "0.206", "PASS", ">=", "0.15"]
    atm = line_of(table, "ATM: sign-in + withdraw")
    assert atm[sql_end - 3 : sql_end] == "6.0", "the ATM path ran under sql, the default"


def test_a_default_engine_not_compared_gets_columns_of_its_own():
    results = made_up_results({"python": an_engine(74)}, default_engine="sql")

    header = report.table(results).splitlines()[0].split()

    assert header == ["python", "sql"]


def test_the_report_names_the_plpgsql_functions_each_engine_called():
    python = an_engine(74)
    python["plpgsql"]["per_transaction"] = {}
    results = made_up_results({"python": python, "sql": an_engine(300)})

    text = report.render(results)

    assert "python: PL/pgSQL calls per posted transaction: none" in text
    assert "sql: PL/pgSQL calls per posted transaction: post_transfer 1.0" in text
    assert "mean 2000" in text
