"""`make bench`: the ledger's throughput against PostgreSQL's own bank transaction (pgbench),
under both posting engines, side by side.

One run, on a fresh database `atm_bench` (BENCH_DATABASE) on the server DATABASE_URL points at:

1. migrate; a gunicorn with the production configuration (throttles off) creates a customer and
   200 funded accounts through the API;
2. pgbench tpcb-like (8 clients, 2 threads, scale 8) on the scratch database `atm_bench_pgbench`:
   the yardstick;
3. for each engine of BENCH_ENGINES ("python,sql": LEDGER_ENGINE=python, the ORM, then
   LEDGER_ENGINE=sql, one PL/pgSQL call per movement), a gunicorn of its own on the same database
   and accounts, a 2 s warm-up, then wrk (16 connections) for BENCH_DURATION seconds each:
   transfers between random pairs with an Idempotency-Key and without one, transfers all out of
   one hot account, deposits all into that account, balance reads. Each run starts once the
   requests the previous one left in flight have drained; during it a thread counts, every
   25 ms, the backends of the bench database waiting on a lock (pg_locks). Once that server has
   stopped: PL/pgSQL calls per posted transaction (pg_stat_user_functions), then
   `manage.py reconcile` and `manage.py verify_audit_chain`, so a discrepancy names its engine;
4. once, under the default engine (LEDGER_ENGINE as the environment has it, else the settings'
   default: sql on PostgreSQL): the ATM path (bench/atm.py, BENCH_ATMS machines at once), whole
   sessions of card sign-in + hold + capture next to card sign-in + one-step withdrawal; then
   reconcile and verify_audit_chain again;
5. pgbench again (the machine is shared: the two runs bracket the noise; ratios use their mean);
6. history flatness: balance and first history page of an account with 10^3 entries against one
   with 10^6 (bulk-generated in SQL, balances and legs kept consistent, but with no audit events:
   so it runs after the ledger checks);
7. one table on stdout (bench/report.py: engines side by side, each ratio with its target and
   PASS/FAIL) and bench/results/latest.json.

Short runs while developing: BENCH_DURATION=3 BENCH_HISTORY_BIG=20000 make bench; BENCH_ENGINES=
python for one engine; BENCH_DATABASE=atm_benchdev_NAME to stay out of another run's databases.
Exit status: 1 when reconcile or verify_audit_chain is not clean after any engine's load, 2 when
the harness itself failed; the throughput targets are reported, not enforced (the machine is
shared).
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

from bench import atm, report
from bench.harness import (
    REPO,
    RESULTS,
    BenchError,
    Client,
    Customer,
    Server,
    libpq_url,
    manage,
    migrate,
    open_funded_account,
    postgres_url_from_env,
    reconcile,
    recreate_database,
    register,
    verify_audit_chain,
)
from bench.pgstats import (
    LockWaitSampler,
    calls_per_transaction,
    ledger_counters,
    track_function_calls,
    wait_until_idle,
    wait_until_quiet,
)

ENGINES = ("python", "sql")
BENCH_DB = os.environ.get("BENCH_DATABASE", "atm_bench")
PGBENCH_DB = f"{BENCH_DB}_pgbench"
DURATION = int(os.environ.get("BENCH_DURATION", "15"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
WRK_THREADS = int(os.environ.get("BENCH_WRK_THREADS", "2"))
# wrk's default (2 s) drops slower answers from the latencies and counts them as errors though
# the server still answers them; 10 s is long enough for the hot account's queue, short of a hang.
WRK_TIMEOUT = "10s"
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
LOCK_SAMPLE_S = int(os.environ.get("BENCH_LOCK_SAMPLE_MS", "25")) / 1000
LUA = REPO / "bench" / "wrk" / "ledger.lua"
PASSWORD = "bench-pass-2468-ledger"
# Throttles would measure nothing but themselves.
SERVER_ENV = {"RATELIMIT_ENABLE": "0"}


def main() -> int:
    try:
        server_url = postgres_url_from_env()
        engines = engines_from(os.environ.get("BENCH_ENGINES", ",".join(ENGINES)))
        wrk = shutil.which("wrk")
        if wrk is None:
            raise BenchError("wrk is not installed: apt-get install -y wrk (make bench does it)")
        results = run(server_url, wrk, engines)
    except BenchError as error:
        print(f"bench: {error}", file=sys.stderr)
        return 2
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(results, indent=2) + "\n")
    print(report.render(results))
    print(f"\nwritten: {RESULTS / 'latest.json'}")
    return 0 if results["ledger_clean"] else 1


def engines_from(text: str) -> list[str]:
    """BENCH_ENGINES: a comma-separated subset of ENGINES, run in the order given."""
    engines = [name.strip() for name in text.split(",") if name.strip()]
    if not engines or set(engines) - set(ENGINES) or len(set(engines)) < len(engines):
        raise BenchError(f"BENCH_ENGINES={text!r}: name each of {', '.join(ENGINES)} at most once")
    return engines


def run(server_url: str, wrk: str, engines: list[str]) -> dict:
    started = time.monotonic()
    bench_url = recreate_database(server_url, BENCH_DB)
    migrate(bench_url)
    track_function_calls(bench_url, BENCH_DB)
    results: dict = {"machine": machine(bench_url), "config": config(engines)}
    Server.log_path.unlink(missing_ok=True)  # one log per bench: every server appends to it
    with tempfile.TemporaryDirectory() as tmp:
        accounts_file = Path(tmp) / "accounts.txt"
        with Server(bench_url, env=SERVER_ENV) as server:
            note("opening and funding the accounts")
            customer = register(server.port, f"bench-{secrets.token_hex(4)}", PASSWORD)
            numbers = open_accounts(server.port, customer.token(server.port))
        accounts_file.write_text("\n".join(numbers) + "\n")
        results["pgbench_before"] = pgbench(server_url)
        # One database for every engine: one migration, one set of accounts, and each engine
        # carries on the ledger and the audit trail the other wrote, as after a switch in
        # production. The checks after each engine's runs say which one broke anything.
        load = WrkRunner(wrk, customer, accounts_file)
        results["engines"] = {engine: engine_runs(bench_url, engine, load) for engine in engines}
        with Server(bench_url, env=SERVER_ENV) as server:
            load.port = server.port
            default = results["default_engine"] = {"engine": ledger_engine(bench_url)}
            note(f"the ATM path, under the default engine ({default['engine']})")
            # The last accounts: the hot one (the first) stays out of it.
            default["atm"] = atm.compare(
                server.port,
                customer.token(server.port),
                numbers[-2 * ATMS :],
                atms=ATMS,
                duration=DURATION,
            )
            default["checks"] = ledger_checks(bench_url)
            results["pgbench_after"] = pgbench(server_url)
            note("history flatness")
            default["history"] = history_flatness(bench_url, load, Path(tmp))
    evaluate(results)
    results["elapsed_s"] = round(time.monotonic() - started, 1)
    # The machine may be shared: how busy it was says how far to trust the numbers.
    results["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    return results


def engine_runs(bench_url: str, engine: str, load: "WrkRunner") -> dict:
    """Every wrk run under one engine on a server of its own; then what PostgreSQL counted, and
    the ledger checks."""
    before = ledger_counters(bench_url)
    with Server(bench_url, env={**SERVER_ENV, "LEDGER_ENGINE": engine}) as server:
        load.port = server.port
        load.run("spread", duration=2)  # warm-up: imports, connections, caches
        runs = {}
        for mode in report.RUNS:
            wait_until_quiet(bench_url, BENCH_DB)
            with LockWaitSampler(bench_url, BENCH_DB, LOCK_SAMPLE_S) as sampler:
                runs[mode] = load.run(mode)
            runs[mode]["lock_waits"] = sampler.summary()
            note(f"{engine}: {mode} {runs[mode]['per_s']}/s")
    # The server's sessions flush their function statistics as they close.
    wait_until_idle(bench_url, BENCH_DB)
    return {
        "runs": runs,
        "plpgsql": calls_per_transaction(before, ledger_counters(bench_url)),
        "checks": ledger_checks(bench_url),
    }


def ledger_checks(bench_url: str) -> dict:
    """Everything the API posted so far must reconcile, and the audit chain must verify."""
    checks = {}
    for name, command in (("reconcile", reconcile), ("audit_chain", verify_audit_chain)):
        clean, output = command(bench_url)
        checks[name] = {"clean": clean, "report": output}
    return checks


def ledger_engine(bench_url: str) -> str:
    """The engine the settings pick in this environment, asked of Django itself."""
    code = "from django.conf import settings; print(settings.LEDGER_ENGINE)"
    return manage(bench_url, "shell", "--verbosity", "0", "-c", code).stdout.split()[-1]


def evaluate(results: dict) -> None:
    pgbench_tps = report.pgbench_mean(results)
    results["pgbench_mean_tps"] = round(pgbench_tps, 1)
    for block in results["engines"].values():
        block["targets"] = report.evaluate_engine(block, pgbench_tps)
    default = results["default_engine"]
    default["targets"] = report.evaluate_default(default)
    results["ledger_clean"] = report.ledger_clean(results)


def note(text: str) -> None:
    """Progress on stderr: the whole bench takes minutes."""
    print(f"bench: {text}", file=sys.stderr, flush=True)


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
    """wrk with bench/wrk/ledger.lua against the server on `port`, with a fresh access token
    for every run."""

    def __init__(self, wrk: str, customer: Customer, accounts_file: Path, port: int = 0):
        self.wrk, self.customer, self.accounts_file, self.port = wrk, customer, accounts_file, port

    def run(
        self,
        mode: str,
        *,
        duration: int = DURATION,
        connections: int = CONNECTIONS,
        threads: int = WRK_THREADS,
        accounts_file: Path | None = None,
    ) -> dict:
        token = self.customer.token(self.port)
        command = [
            self.wrk, f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency",
            "--timeout", WRK_TIMEOUT, "-s", str(LUA), f"http://127.0.0.1:{self.port}", "--",
            mode, token, str(accounts_file or self.accounts_file), secrets.token_hex(6),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"wrk {mode} exited with {done.returncode}:\n{done.stderr}")
        return parse_wrk(done.stdout) | {"connections": connections}


def parse_wrk(stdout: str) -> dict:
    """The line "BENCH_JSON {...}" that ledger.lua's done() prints, in requests/s and ms."""
    line = next((row for row in stdout.splitlines() if row.startswith("BENCH_JSON ")), None)
    if line is None:
        raise BenchError(f"wrk printed no result:\n{stdout}")
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
        "duration_s": round(seconds, 1),
    }


def pgbench(server_url: str) -> dict:
    """PostgreSQL's own TPC-B-like bank transaction on a fresh scratch database."""
    note("pgbench")
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
    return parse_pgbench(done.stdout) | {"clients": PGBENCH_CLIENTS, "scale": PGBENCH_SCALE}


def parse_pgbench(stdout: str) -> dict:
    """TPS and mean latency from pgbench's summary."""
    tps = re.search(r"^tps = ([0-9.]+)", stdout, re.MULTILINE)
    latency = re.search(r"^latency average = ([0-9.]+) ms", stdout, re.MULTILINE)
    if tps is None:
        raise BenchError(f"could not read pgbench's TPS:\n{stdout}")
    return {
        "tps": float(tps.group(1)),
        "latency_avg_ms": float(latency.group(1)) if latency else None,
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
        # The first of the currency's cash accounts, should the bank keep several.
        cash_id = min(pk for pk in balances if pk != account_id)
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


def history_flatness(bench_url: str, load: WrkRunner, tmp: Path) -> dict:
    customer, port = load.customer, load.port
    client = Client(port, customer.token(port))
    sizes = {"small": HISTORY_SMALL, "big": HISTORY_BIG}
    numbers = {label: open_funded_account(client, None) for label in sizes}
    client.close()
    generated = {
        label: generate_history(
            bench_url, number=numbers[label], user_id=customer.user_id, entries=n
        )
        for label, n in sizes.items()
    }
    probes: dict = {}
    for label, number in numbers.items():
        single = tmp / f"{label}.txt"
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


# --- the machine ----------------------------------------------------------------------------


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


def config(engines: list[str]) -> dict:
    return {
        "engines": engines,
        "database": BENCH_DB,
        "duration_s": DURATION,
        "wrk_connections": CONNECTIONS,
        "wrk_threads": WRK_THREADS,
        "wrk_timeout": WRK_TIMEOUT,
        "lock_sample_ms": round(LOCK_SAMPLE_S * 1000),
        "accounts": ACCOUNTS,
        "atms": ATMS,
        "amount": "1.00",
        "pgbench": f"tpcb-like, {PGBENCH_CLIENTS} clients, 2 threads, scale {PGBENCH_SCALE}",
        "gunicorn": {
            key: os.environ.get(key, "default (atm_project/gunicorn_conf.py)")
            for key in ("WEB_CONCURRENCY", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS")
        },
        "ratelimit_enable": "0",
    }


if __name__ == "__main__":
    sys.exit(main())
