"""Server configurations side by side: transfers/s and balance reads/s under the same wrk load.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/atm .venv/bin/python -m bench.tune

One fresh database (`atm_bench_tune`) and 200 funded accounts; then, for each configuration
below, a new gunicorn (production config, the variant's environment on top) gets a short
warm-up and TUNE_DURATION seconds (default 8) of transfers and of balance reads, 16 connections.
Rounds are repeated (TUNE_ROUNDS, default 2) and interleaved, so a neighbour's burst on a shared
machine does not land on one configuration only. The results go to bench/results/tune.json.
"""

import json
import os
import secrets
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from bench.harness import (
    RESULTS,
    BenchError,
    Server,
    migrate,
    postgres_url_from_env,
    recreate_database,
    register,
)
from bench.run import PASSWORD, WrkRunner, open_accounts

DURATION = int(os.environ.get("TUNE_DURATION", "8"))
ROUNDS = int(os.environ.get("TUNE_ROUNDS", "2"))
VARIANTS = {
    "sync x5 (default: 2 x cores + 1)": {},
    "sync x3": {"WEB_CONCURRENCY": "3"},
    "sync x8": {"WEB_CONCURRENCY": "8"},
    "gthread x5 (default) x 4 threads": {
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": "4",
    },
    "gthread 3 x 4 threads": {
        "WEB_CONCURRENCY": "3",
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": "4",
    },
    "gthread 3 x 4 threads, psycopg pool": {
        "WEB_CONCURRENCY": "3",
        "GUNICORN_WORKER_CLASS": "gthread",
        "GUNICORN_THREADS": "4",
        "DB_POOL": "1",
    },
}


def main() -> int:
    try:
        url = recreate_database(postgres_url_from_env(), "atm_bench_tune")
        wrk = shutil.which("wrk")
        if wrk is None:
            raise BenchError("wrk is not installed: apt-get install -y wrk")
    except BenchError as error:
        print(f"tune: {error}", file=sys.stderr)
        return 2
    migrate(url)
    selected = os.environ.get("TUNE_VARIANTS")
    variants = {
        name: env
        for name, env in VARIANTS.items()
        if not selected or any(part in name for part in selected.split(","))
    }
    results: dict = {name: {"spread": [], "balance": []} for name in variants}
    setup = Server(url, env={"RATELIMIT_ENABLE": "0"})
    with setup, tempfile.TemporaryDirectory() as tmp:
        customer = register(setup.port, f"tune-{secrets.token_hex(4)}", PASSWORD)
        accounts_file = Path(tmp) / "accounts.txt"
        numbers = open_accounts(setup.port, customer.token(setup.port))
        accounts_file.write_text("\n".join(numbers) + "\n")
        setup.stop()
        for _ in range(ROUNDS):
            for name, env in variants.items():
                with Server(url, env={"RATELIMIT_ENABLE": "0", **env}) as server:
                    load = WrkRunner(wrk, customer, accounts_file, port=server.port)
                    load.run("spread", duration=2)
                    for mode in ("spread", "balance"):
                        run = load.run(mode, duration=DURATION)
                        results[name][mode].append(run)
                        print(
                            f"{name}: {mode} {run['per_s']}/s, p99 {run['p99_ms']} ms", flush=True
                        )
    summary = {
        name: {
            mode: {
                "per_s": round(statistics.median(r["per_s"] for r in runs), 1),
                "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 1),
                "non2xx": sum(r["non2xx"] + r["socket_errors"] for r in runs),
                "runs": [r["per_s"] for r in runs],
            }
            for mode, runs in by_mode.items()
        }
        for name, by_mode in results.items()
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "tune.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"{'configuration':40} {'transfers/s':>12} {'p99 ms':>8} {'reads/s':>9} {'p99 ms':>8}")
    for name, row in summary.items():
        spread, balance = row["spread"], row["balance"]
        print(
            f"{name:40} {spread['per_s']:>12} {spread['p99_ms']:>8} "
            f"{balance['per_s']:>9} {balance['p99_ms']:>8}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
