"""`make bench`'s verdicts and its table: ratios against their targets, engines side by side.

Pure functions of the results bench/run.py collects (the shape of bench/results/latest.json), so
bench/tests check them without any load.
"""

import operator
from dataclasses import dataclass

# The wrk runs made under each engine, in order, and how the table names them.
RUNS = {
    "spread": "transfers, random pairs, with key",
    "spread_nokey": "transfers, random pairs, no key",
    "hot": "transfers out of one hot account",
    "hot_deposit": "deposits into one hot account",
    "balance": "balance reads, random accounts",
}
OPERATORS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}
CLEAN = True


@dataclass(frozen=True)
class Target:
    label: str
    op: str
    limit: float | bool

    @property
    def text(self) -> str:
        return f"{self.op} {'clean' if self.limit is CLEAN else self.limit}"

    def check(self, value: float | bool) -> dict:
        return {
            "value": round(value, 3) if isinstance(value, float) else value,
            "target": self.text,
            "pass": OPERATORS[self.op](value, self.limit),
        }


# Checked for each engine; the throughput ratios use pgbench's mean TPS (before and after).
ENGINE_TARGETS = {
    "transfers_vs_pgbench": Target("transfers (key) / pgbench", ">=", 0.15),
    "hot_vs_spread": Target("hot account / spread (key)", ">=", 0.8),
    "hot_deposits_vs_pgbench": Target("hot deposits / pgbench", ">=", 0.12),
    "reads_vs_transfers": Target("balance reads / transfers (key)", ">=", 2.5),
    "spread_lock_waits": Target("mean waiting backends, spread", "<", 1),
    "failed_requests": Target("non-2xx + socket errors, all runs", "==", 0),
    "reconcile": Target("manage.py reconcile", "==", CLEAN),
    "audit_chain": Target("manage.py verify_audit_chain", "==", CLEAN),
}
# Checked once, under the default engine: the ATM path and history flatness.
DEFAULT_TARGETS = {
    "atm_failed_sessions": Target("failed ATM sessions", "==", 0),
    "history_balance_ratio": Target("balance, big / small history", "<=", 1.5),
    "history_page_ratio": Target("history page, big / small history", "<=", 1.5),
    "reconcile": ENGINE_TARGETS["reconcile"],
    "audit_chain": ENGINE_TARGETS["audit_chain"],
}


def pgbench_mean(results: dict) -> float:
    """The yardstick: the mean of pgbench's TPS before and after the application's runs."""
    return (results["pgbench_before"]["tps"] + results["pgbench_after"]["tps"]) / 2


def evaluate_engine(block: dict, pgbench_tps: float) -> dict:
    runs = block["runs"]
    spread = runs["spread"]["per_s"]
    values = {
        "transfers_vs_pgbench": spread / pgbench_tps,
        "hot_vs_spread": runs["hot"]["per_s"] / spread,
        "hot_deposits_vs_pgbench": runs["hot_deposit"]["per_s"] / pgbench_tps,
        "reads_vs_transfers": runs["balance"]["per_s"] / spread,
        "spread_lock_waits": runs["spread"]["lock_waits"]["mean"],
        "failed_requests": sum(failed(run) for run in runs.values()),
        **ledger_values(block["checks"]),
    }
    return {name: ENGINE_TARGETS[name].check(value) for name, value in values.items()}


def evaluate_default(block: dict) -> dict:
    values = {
        "atm_failed_sessions": sum(scenario["failed"] for scenario in block["atm"].values()),
        "history_balance_ratio": block["history"]["balance_ratio"],
        "history_page_ratio": block["history"]["history_ratio"],
        **ledger_values(block["checks"]),
    }
    return {name: DEFAULT_TARGETS[name].check(value) for name, value in values.items()}


def ledger_values(checks: dict) -> dict:
    return {name: checks[name]["clean"] for name in ("reconcile", "audit_chain")}


def failed(run: dict) -> int:
    """Requests that did not get a 2xx: answered otherwise, or never (connect, read, timeout)."""
    return run["non2xx"] + run["socket_errors"]


def ledger_clean(results: dict) -> bool:
    """Whether every reconcile and verify_audit_chain the bench ran found nothing."""
    blocks = [*results["engines"].values(), results["default_engine"]]
    return all(all(ledger_values(block["checks"]).values()) for block in blocks)


# --- the table -------------------------------------------------------------------------------

RUN_COLUMNS = ("req/s", "p50 ms", "p99 ms", "failed", "waits")
WIDTH = len(RUN_COLUMNS)


def render(results: dict) -> str:
    """The whole report: what ran where, the table, then the details the table leaves out."""
    return "\n\n".join([intro(results), table(results), notes(results)])


def intro(results: dict) -> str:
    machine, config = results["machine"], results["config"]
    return (
        f"{machine['nproc']} cores, PostgreSQL {machine['postgresql']}, load average "
        f"{machine['loadavg_start'][0]} at start, {machine['loadavg_end'][0]} at end; "
        f"{config['duration_s']} s per run, {config['wrk_connections']} connections.\n"
        f"Yardstick: pgbench {config['pgbench']}: {results['pgbench_before']['tps']:.0f} TPS "
        f"before, {results['pgbench_after']['tps']:.0f} after, mean {pgbench_mean(results):.0f}.\n"
        "waits = waiting backends (pg_locks), mean/max; failed = non-2xx + socket errors."
    )


def notes(results: dict) -> str:
    default = results["default_engine"]
    lines = [
        f"{scenario}: mean ms per step: "
        + ", ".join(f"{step} {ms:.1f}" for step, ms in run["step_mean_ms"].items())
        for scenario, run in default["atm"].items()
    ]
    for engine, block in results["engines"].items():
        calls = block["plpgsql"]["per_transaction"]
        listed = ", ".join(f"{name} {count}" for name, count in calls.items()) or "none"
        lines.append(f"{engine}: PL/pgSQL calls per posted transaction: {listed}")
    blocks = {**results["engines"], f"default ({default['engine']})": default}
    for name, block in blocks.items():
        for command, check in block["checks"].items():
            if not check["clean"]:
                lines.append(f"{name}: {command} NOT CLEAN:\n{check['report']}")
    return "\n".join(lines)


def table(results: dict) -> str:
    """Engines side by side: each run's throughput, latency, failed requests and mean/max
    waiting backends, then every ratio with its verdict and target; the default engine's
    once-only rows (ATM path, history flatness) in its own columns."""
    default = results["default_engine"]
    engines = list(dict.fromkeys([*results["engines"], default["engine"]]))
    header = ["", *(cell for engine in engines for cell in (engine, *[""] * (WIDTH - 1))), ""]
    rows = [header, ["run", *RUN_COLUMNS * len(engines), "target"]]

    def row(label: str, cells: dict[str, list[str]], target: str = "") -> list[str]:
        grouped = (cells.get(engine, []) + [""] * WIDTH for engine in engines)
        return [label, *(cell for group in grouped for cell in group[:WIDTH]), target]

    blocks = results["engines"].items()
    for name, label in RUNS.items():
        rows.append(row(label, {e: run_cells(block["runs"][name]) for e, block in blocks}))
    rows.append(["checks: each engine's value and verdict, the target on the right"])
    for name, target in ENGINE_TARGETS.items():
        verdicts = {e: verdict_cells(block["targets"][name]) for e, block in blocks}
        rows.append(row(target.label, verdicts, target.text))
    rows.append([f"once, under the default engine ({default['engine']})"])
    for scenario, label in (
        ("atm_withdraw", "ATM: sign-in + withdraw (sessions)"),
        ("atm_hold_capture", "ATM: sign-in + hold + capture (sessions)"),
    ):
        rows.append(row(label, {default["engine"]: atm_cells(default["atm"][scenario])}))
    entries = default["history"]["entries"]
    for probe, run in default["history"]["probes"].items():
        kind, size = probe.split("_")
        label = f"{'balance' if kind == 'balance' else 'history page'}, {entries[size]} entries"
        rows.append(row(label, {default["engine"]: run_cells(run)}))
    for name, target in DEFAULT_TARGETS.items():
        cells = {default["engine"]: verdict_cells(default["targets"][name])}
        rows.append(row(target.label, cells, target.text))
    return align(rows)


def run_cells(run: dict) -> list[str]:
    waits = run.get("lock_waits")
    return [
        f"{run['per_s']:.0f}",
        f"{run['p50_ms']:.1f}",
        f"{run['p99_ms']:.1f}",
        str(failed(run)),
        f"{waits['mean']:.2f}/{waits['max']}" if waits else "",
    ]


def atm_cells(scenario: dict) -> list[str]:
    return [
        f"{scenario['sessions_per_s']:.1f}",
        f"{scenario['p50_ms']:.1f}",
        f"{scenario['p99_ms']:.1f}",
        str(scenario["failed"]),
    ]


def verdict_cells(check: dict) -> list[str]:
    value = check["value"]
    shown = ("clean" if value else "NOT CLEAN") if isinstance(value, bool) else str(value)
    return [shown, "PASS" if check["pass"] else "FAIL"]


def align(rows: list[list[str]]) -> str:
    """Columns padded to their widest cell: the first to the left, numbers to the right. A row
    of one cell (a section title) stands alone."""
    cells = [row for row in rows if len(row) > 1]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in rows:
        if len(row) == 1:
            lines.append(row[0])
            continue
        first, *rest = row
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        lines.append("  ".join(padded).rstrip())
    return "\n".join(lines)
