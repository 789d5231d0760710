"""`make bench`: the ledger's throughput against PostgreSQL's own bank transaction (pgbench).

One run, on a fresh database `atm_bench` on the server DATABASE_URL points at:

1. migrate, start gunicorn with the production configuration (throttles off), create a customer
   and 200 funded accounts through the API;
2. pgbench tpcb-like (8 clients) on the scratch database `atm_bench_pgbench`: the yardstick;
3. wrk (16 connections): transfers between random pairs, transfers all from one hot account,
   balance reads; then the ATM path (bench/atm.py, BENCH_ATMS machines at once, 8 by default):
   whole sessions of card sign-in + hold + capture, next to card sign-in + one-step withdrawal;
4. pgbench again (the machine is shared: the two runs bracket the noise);
5. `manage.py reconcile` over everything the load posted through the API;
6. history flatness: balance and first history page of an account with 10^3 entries against one
   with 10^6 (bulk-generated in SQL, balances and legs kept consistent, but with no audit events:
   so it runs after reconcile); a table on stdout and bench/results/latest.json.

Short runs while developing: BENCH_DURATION=3 BENCH_HISTORY_BIG=20000 make bench.
Exit status is non-zero only when the ledger is inconsistent or the harness itself failed; the
throughput targets are reported, not enforced (the machine is shared).
"""

import json
import os
import platform
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench import atm
from bench.harness import (
    REPO,
    RESULTS,
    BenchError,
    Client,
    Server,
    libpq_url,
    migrate,
    open_funded_account,
    postgres_url_from_env,
    reconcile,
    recreate_database,
    sign_up,
)

BENCH_DB = "atm_bench"
PGBENCH_DB = "atm_bench_pgbench"
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
ACCOUNTS = 200
# accounts.models.CASH_SUBACCOUNTS (the bench does not import the app; a test keeps them equal).
CASH_SUBACCOUNTS = 16
PGBENCH_CLIENTS = 8
# pgbench's advice: a scale at least the number of clients, or they all queue on one branch row.
PGBENCH_SCALE = int(os.environ.get("BENCH_PGBENCH_SCALE", str(PGBENCH_CLIENTS)))
HISTORY_SMALL = int(os.environ.get("BENCH_HISTORY_SMALL", "1000"))
HISTORY_BIG = int(os.environ.get("BENCH_HISTORY_BIG", "1000000"))
PROBE_DURATION = int(os.environ.get("BENCH_PROBE_DURATION", "5"))
ATMS = int(os.environ.get("BENCH_ATMS", "8"))
LUA = REPO / "bench" / "wrk" / "ledger.lua"
PASSWORD = "bench-pass-2468-ledger"

TARGETS = {
    "transfers_vs_pgbench": 0.15,
    "hot_vs_spread": 0.5,
    "reads_vs_transfers": 2.5,
    "history_ratio_max": 1.5,
}


def main() -> int:
    try:
        server_url = postgres_url_from_env()
        wrk = shutil.which("wrk")
        if wrk is None:
            raise BenchError("wrk is not installed: apt-get install -y wrk (make bench does it)")
        results = run(server_url, wrk)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print_table(results)
    print(f"\nwritten: {RESULTS / 'latest.json'}")
    return 0 if results["reconcile"]["clean"] else 1


def run(server_url: str, wrk: str) -> dict:
    started = time.monotonic()
    bench_url = recreate_database(server_url, BENCH_DB)
    migrate(bench_url)
    results: dict = {"machine": machine(bench_url), "config": config()}
    server = Server(bench_url, env={"RATELIMIT_ENABLE": "0"})
    server.log_path.unlink(missing_ok=True)
    with server:
        user_id, token = sign_up(server.port, f"bench-{secrets.token_hex(4)}", PASSWORD)
        numbers = open_accounts(server.port, token)
        with tempfile.TemporaryDirectory() as tmp:
            accounts_file = Path(tmp) / "accounts.txt"
            accounts_file.write_text("\n".join(numbers) + "\n")
            load = WrkRunner(wrk, server.port, token, accounts_file)
            load.run("spread", duration=2)  # warm-up: imports, connections, caches
            results["pgbench_before"] = pgbench(server_url)
            results["spread"] = load.run("spread")
            results["hot"] = load.run("hot")
            results["balance"] = load.run("balance")
            # The last accounts: the hot one (the first) stays out of it.
            results["atm"] = atm.compare(
                server.port, token, numbers[-2 * ATMS :], atms=ATMS, duration=DURATION
            )
            results["pgbench_after"] = pgbench(server_url)
            # Every movement the load posted went through the API: the ledger must reconcile.
            # Checked before the history step, whose synthetic rows are written in SQL without
            # audit events (reconcile would rightly report each as not posted by the service).
            ok, report = reconcile(bench_url)
            results["reconcile"] = {"clean": ok, "report": report}
            results["history"] = history_flatness(bench_url, server.port, token, user_id, wrk, tmp)
    results["targets"] = evaluate(results)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    # The machine may be shared: how busy it was says how far to trust the numbers.
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def open_accounts(port: int, token: str) -> list[str]:
    """200 accounts through the API; the first, the hot one, holds enough for any run."""

    def one(index: int) -> str:
        client = Client(port, token)
        amount = "1000000.00" if index == 0 else "100000.00"
        try:
            return open_funded_account(client, amount)
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(one, range(ACCOUNTS)))


class WrkRunner:
    def __init__(self, wrk: str, port: int, token: str, accounts_file: Path):
        self.wrk, self.port, self.token, self.accounts_file = wrk, port, token, accounts_file

    def run(
        self,
        mode: str,
        *,
        duration: int = DURATION,
        connections: int = CONNECTIONS,
        threads: int = WRK_THREADS,
        accounts_file: Path | None = None,
    ) -> dict:
        command = [
            self.wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "-s", str(LUA), f"http://127.0.0.1:{self.port}", "--",
            mode, self.token, str(accounts_file or self.accounts_file), secrets.token_hex(6),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        line = next(
            (row for row in done.stdout.splitlines() if row.startswith("BENCH_JSON ")), None
        )
        if line is None:
            raise BenchError(f"wrk printed no result:\n{done.stdout}\n{done.stderr}")
        raw = json.loads(line.removeprefix("BENCH_JSON "))
        seconds = raw["duration_us"] / 1e6
        return {
            "requests": raw["requests"],
            "per_s": round(raw["requests"] / seconds, 1),
            "p50_ms": raw["p50_us"] / 1000,
            "p90_ms": raw["p90_us"] / 1000,
            "p99_ms": raw["p99_us"] / 1000,
            "mean_ms": round(raw["mean_us"] / 1000, 2),
            "non2xx": raw["non2xx"],
            "socket_errors": raw["socket_errors"],
            "connections": connections,
            "duration_s": round(seconds, 1),
        }


def pgbench(server_url: str) -> dict:
    """PostgreSQL's own TPC-B-like bank transaction on a fresh scratch database."""
    url = libpq_url(recreate_database(server_url, PGBENCH_DB))
    subprocess.run(
        ["pgbench", "-i", "-q", "-s", str(PGBENCH_SCALE), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    done = subprocess.run(
        ["pgbench", "-b", "tpcb-like", "-c", str(PGBENCH_CLIENTS), "-j", "2",
         "-T", str(DURATION), url],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    tps = re.search(r"tps = ([0-9.]+)", done.stdout)
    latency = re.search(r"latency average = ([0-9.]+) ms", done.stdout)
    if tps is None:
        raise BenchError(f"could not read pgbench's TPS:\n{done.stdout}\n{done.stderr}")
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
        "clients": PGBENCH_CLIENTS,
        "scale": PGBENCH_SCALE,
    }


# --- history flatness ------------------------------------------------------------------------

# Deposits of 1.00 against the account's cash sub-account, the oldest first, so the ledger stays
# exactly as the services would have written it: each transaction two legs summing to zero, each
# entry's balance_after the running balance, and the stored balances moved by the same total.
GENERATE_HISTORY = """
CREATE TEMP TABLE bench_history ON COMMIT DROP AS
SELECT i, gen_random_uuid() AS id,
       now() - (%(n)s - i + 1) * interval '1 millisecond' AS at
FROM generate_series(1, %(n)s) AS i;

INSERT INTO transactions_transaction
    (id, kind, status, amount, currency, description, account_id, initiated_by_id, created_at)
SELECT id, 'deposit', 'posted', 1.00, %(currency)s, 'bench history', %(account)s, %(user)s, at
FROM bench_history ORDER BY i;

INSERT INTO transactions_entry
    (transaction_id, account_id, amount, balance_after, kind, created_at, counterparty_number)
SELECT id, account_id, amount, balance_after, 'deposit', at, ''
FROM (
    SELECT i, 0 AS leg, id, at, %(account)s AS account_id, 1.00 AS amount,
           %(account_start)s + i AS balance_after
    FROM bench_history
    UNION ALL
    SELECT i, 1, id, at, %(cash)s, -1.00, %(cash_start)s - i FROM bench_history
) AS legs
ORDER BY i, leg;

UPDATE accounts_account SET balance = balance + %(n)s WHERE id = %(account)s;
UPDATE accounts_account SET balance = balance - %(n)s WHERE id = %(cash)s;
"""


def generate_history(bench_url: str, *, number: str, user_id: int, entries: int) -> float:
    """Give account `number` `entries` more deposits, directly in SQL; return the seconds taken."""
    started = time.monotonic()
    with psycopg.connect(libpq_url(bench_url)) as conn, conn.transaction():
        account_id, currency = conn.execute(
            "SELECT id, currency FROM accounts_account WHERE number = %s", [number]
        ).fetchone()
        # The same locks, in the same order, as transactions.services takes: the account and
        # the cash sub-account of its shard.
        locked = conn.execute(
            "SELECT id, balance FROM accounts_account WHERE id = %s"
            " OR (kind = 'internal' AND currency = %s AND cash_shard = %s)"
            " ORDER BY id FOR UPDATE",
            [account_id, currency, account_id % CASH_SUBACCOUNTS],
        ).fetchall()
        balances = dict(locked)
        (cash_id,) = [pk for pk in balances if pk != account_id]
        params = {
            "n": entries,
            "account": account_id,
            "cash": cash_id,
            "currency": currency,
            "user": user_id,
            "account_start": balances[account_id],
            "cash_start": balances[cash_id],
        }
        with conn.cursor() as cursor:
            for statement in GENERATE_HISTORY.split(";"):
                if statement.strip():
                    cursor.execute(statement, params)
    with psycopg.connect(libpq_url(bench_url), autocommit=True) as conn:
        conn.execute("ANALYZE transactions_entry, transactions_transaction, accounts_account")
    return round(time.monotonic() - started, 1)


def history_flatness(bench_url, port, token, user_id, wrk, tmp) -> dict:
    client = Client(port, token)
    sizes = {"small": HISTORY_SMALL, "big": HISTORY_BIG}
    numbers = {label: open_funded_account(client, None) for label in sizes}
    client.close()
    generated = {
        label: generate_history(bench_url, number=numbers[label], user_id=user_id, entries=n)
        for label, n in sizes.items()
    }
    load = WrkRunner(wrk, port, token, Path(tmp) / "unused")
    probes: dict = {}
    for label, number in numbers.items():
        single = Path(tmp) / f"{label}.txt"
        single.write_text(number + "\n")
        for mode in ("balance", "history"):
            probes[f"{mode}_{label}"] = load.run(
                mode, duration=PROBE_DURATION, connections=2, threads=1, accounts_file=single
            )
    return {
        "entries": sizes,
        "generate_s": generated,
        "probes": probes,
        "balance_ratio": ratio(probes["balance_big"], probes["balance_small"]),
        "history_ratio": ratio(probes["history_big"], probes["history_small"]),
    }


def ratio(big: dict, small: dict) -> float:
    """How much slower the big history is, by mean latency (1.0 = flat)."""
    return round(big["mean_ms"] / small["mean_ms"], 2)


# --- report ----------------------------------------------------------------------------------


def evaluate(results: dict) -> dict:
    spread = results["spread"]["per_s"]
    pg_tps = (results["pgbench_before"]["tps"] + results["pgbench_after"]["tps"]) / 2
    history = results["history"]
    non2xx = sum(results[phase]["non2xx"] for phase in ("spread", "hot", "balance")) + sum(
        scenario["failed"] for scenario in results["atm"].values()
    )
    checks = {
        "transfers_vs_pgbench": (spread / pg_tps, TARGETS["transfers_vs_pgbench"], ">="),
        "hot_vs_spread": (results["hot"]["per_s"] / spread, TARGETS["hot_vs_spread"], ">="),
        "reads_vs_transfers": (
            results["balance"]["per_s"] / spread,
            TARGETS["reads_vs_transfers"],
            ">=",
        ),
        "history_balance_ratio": (history["balance_ratio"], TARGETS["history_ratio_max"], "<="),
        "history_page_ratio": (history["history_ratio"], TARGETS["history_ratio_max"], "<="),
        "non2xx": (non2xx, 0, "<="),
        "reconcile_clean": (int(results["reconcile"]["clean"]), 1, ">="),
    }
    return {
        name: {
            "value": round(value, 3),
            "target": f"{op} {target}",
            "pass": value >= target if op == ">=" else value <= target,
        }
        for name, (value, target, op) in checks.items()
    } | {"pgbench_mean_tps": round(pg_tps, 1)}


def machine(bench_url: str) -> dict:
    with psycopg.connect(libpq_url(bench_url)) as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
        sync_commit = conn.execute("SHOW synchronous_commit").fetchone()[0]
    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "nproc": os.cpu_count(),
        "memory_gb": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "postgresql": pg_version,
        "synchronous_commit": sync_commit,
        "wrk": subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.split(
            "\n"
        )[0],
    }


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor()


def config() -> dict:
    return {
        "duration_s": DURATION,
        "wrk_connections": CONNECTIONS,
        "wrk_threads": WRK_THREADS,
        "accounts": ACCOUNTS,
        "atms": ATMS,
        "transfer_amount": "1.00",
        "idempotency_key_per_transfer": True,
        "pgbench": f"tpcb-like, {PGBENCH_CLIENTS} clients, scale {PGBENCH_SCALE}",
        "gunicorn": {
            key: os.environ.get(key, "default (atm_project/gunicorn_conf.py)")
            for key in ("WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS")
        },
        "ratelimit_enable": "0",
    }


def print_table(results: dict) -> None:
    machine = results["machine"]
    print(
        f"{machine['nproc']} cores, PostgreSQL {machine['postgresql']}, load average "
        f"{machine['loadavg_start'][0]} at start, {machine['loadavg_end'][0]} at end"
    )
    rows = [("phase", "req/s", "p50 ms", "p99 ms", "non-2xx")]
    for phase in ("spread", "hot", "balance"):
        r = results[phase]
        rows.append((phase, f"{r['per_s']:.0f}", f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}",
                     str(r["non2xx"] + r["socket_errors"])))  # fmt: skip
    for scenario, r in results["atm"].items():
        rows.append((f"{scenario} (sessions)", f"{r['sessions_per_s']:.1f}", f"{r['p50_ms']:.1f}",
                     f"{r['p99_ms']:.1f}", str(r["failed"])))  # fmt: skip
    for label in ("pgbench_before", "pgbench_after"):
        r = results[label]
        rows.append((f"{label} (tps)", f"{r['tps']:.0f}", f"{r['latency_avg_ms']:.1f}", "", ""))
    history = results["history"]
    for name, probe in history["probes"].items():
        rows.append((name, f"{probe['per_s']:.0f}", f"{probe['p50_ms']:.1f}",
                     f"{probe['p99_ms']:.1f}", str(probe["non2xx"])))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print()
    for scenario, r in results["atm"].items():
        steps = ", ".join(f"{name} {ms:.1f}" for name, ms in r["step_mean_ms"].items())
        print(f"{scenario}: mean ms per step: {steps}")
    print()
    for name, check in results["targets"].items():
        if isinstance(check, dict):
            verdict = "PASS" if check["pass"] else "FAIL"
            print(f"{verdict}  {name}: {check['value']} (target {check['target']})")
    print(f"reconcile: {'clean' if results['reconcile']['clean'] else 'DISCREPANCIES'}")
    if not results["reconcile"]["clean"]:
        print(results["reconcile"]["report"])


if __name__ == "__main__":
    sys.exit(main())
