"""`make faults`: transfers under crashes, then proof that no money was lost or doubled.

On a fresh database `atm_bench_faults` (on the server DATABASE_URL points at), a few client
threads send transfers, each with its own Idempotency-Key, and retry the same request with the
same key on connection errors, 5xx and 409 idempotency_key_in_use, until it is acknowledged (201).
Meanwhile the harness
  - kills a gunicorn worker with SIGKILL every few seconds (the master forks a new one),
  - kills the gunicorn master with SIGKILL and starts a new one on the same port,
  - restarts PostgreSQL in immediate mode (a crash: no checkpoint, recovery from the WAL).
Afterwards it checks, straight from the database: every acknowledged transfer exists exactly once
under its key, with the amount and accounts that were sent; no transfer exists without a key
(none was posted twice); the customers' total is unchanged; `manage.py reconcile` is clean; and
the service answered again within 10 s of the database accepting connections.

Restarting PostgreSQL interrupts every other client of that server: run it on a machine of your
own, or warn the people sharing it. FAULTS_SKIP_DB_RESTART=1 leaves PostgreSQL alone.
"""

import contextlib
import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from http.client import HTTPException
from pathlib import Path

import psycopg

from bench.harness import (
    API,
    BenchError,
    Client,
    Server,
    healthy,
    libpq_url,
    migrate,
    open_funded_account,
    postgres_url_from_env,
    reconcile,
    recreate_database,
    sign_up,
)

FAULTS_DB = "atm_bench_faults"
DURATION = float(os.environ.get("FAULTS_DURATION", "75"))
CLIENTS = int(os.environ.get("FAULTS_CLIENTS", "4"))
ACCOUNTS = 20
OPENING_BALANCE = "100000.00"
# How long a client keeps retrying one transfer before it gives up (and reports it unresolved).
RETRY_FOR = 60.0
SERVICE_BACK_TARGET = 10.0
PG_RESTART = os.environ.get(
    "FAULTS_PG_RESTART",
    "pg_ctlcluster --skip-systemctl-redirect 15 main restart -m immediate",
)
SERVER_ENV = {
    "RATELIMIT_ENABLE": "0",
    "WEB_CONCURRENCY": os.environ.get("WEB_CONCURRENCY", "3"),
    # A claim whose worker was killed mid-request is taken over by the retry after this long
    # (production keeps the default 60 s; the run would mostly wait otherwise).
    "IDEMPOTENCY_CLAIM_TIMEOUT": "5",
    # A master restarted after SIGKILL binds beside its orphaned workers (gunicorn_conf.py).
    "GUNICORN_REUSE_PORT": "1",
}


@dataclass
class Tally:
    """What the clients saw; shared by the client threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    acknowledged: dict = field(default_factory=dict)  # key -> (transaction id, request body)
    unresolved: list = field(default_factory=list)  # keys given up on
    refused: list = field(default_factory=list)  # (key, status, body): a 4xx nobody expected
    attempts: int = 0
    connection_errors: int = 0
    server_errors: int = 0
    in_use: int = 0
    replays: int = 0

    def add(self, **counts) -> None:
        with self.lock:
            for name, value in counts.items():
                setattr(self, name, getattr(self, name) + value)


def main() -> int:
    try:
        server_url = postgres_url_from_env()
        figures = run(server_url)
    except BenchError as error:
        print(f"faults: {error}", file=sys.stderr)
        return 2
    return report(figures)


def run(server_url: str) -> dict:
    url = recreate_database(server_url, FAULTS_DB)
    migrate(url)
    server = Server(url, env=SERVER_ENV)
    server.log_path = server.log_path.with_name("faults-server.log")
    server.log_path.unlink(missing_ok=True)
    server.start()
    figures: dict = {"events": []}
    try:
        user_id, token = sign_up(server.port, f"faults-{uuid.uuid4().hex[:6]}", "faults-pass-2468")
        setup = Client(server.port, token)
        numbers = [open_funded_account(setup, OPENING_BALANCE) for _ in range(ACCOUNTS)]
        setup.close()
        figures["total_before"] = customer_total(url)
        tally = Tally()
        stop = threading.Event()
        clients = [
            threading.Thread(target=client_loop, args=(server.port, token, numbers, tally, stop))
            for _ in range(CLIENTS)
        ]
        for thread in clients:
            thread.start()
        try:
            inject_faults(server, url, figures)
        finally:
            stop.set()
            for thread in clients:
                thread.join(timeout=RETRY_FOR + 30)
        figures["tally"] = tally
    finally:
        server.stop()
        kill_orphans(figures.get("orphans", []))
    figures.update(verify(url, user_id, figures["tally"], numbers))
    figures["reconcile_clean"], figures["reconcile_report"] = reconcile(url)
    return figures


# --- load ------------------------------------------------------------------------------------


def client_loop(port: int, token: str, numbers: list[str], tally: Tally, stop) -> None:
    client = Client(port, token, timeout=15)
    rng = random.Random()
    while not stop.is_set():
        source, target = rng.sample(numbers, 2)
        body = {"from_account": source, "to_account": target, "amount": f"{rng.randint(1, 20)}.00"}
        send_until_acknowledged(client, body, str(uuid.uuid4()), tally)
    client.close()


def send_until_acknowledged(client: Client, body: dict, key: str, tally: Tally) -> None:
    """POST one transfer, retrying with the same key, as a careful client would."""
    give_up = time.monotonic() + RETRY_FOR
    backoff = 0.05
    while time.monotonic() < give_up:
        tally.add(attempts=1)
        try:
            status, data = client.request(
                "POST", f"{API}/transfers/", body, {"Idempotency-Key": key}
            )
        except (OSError, HTTPException):
            tally.add(connection_errors=1)
        else:
            if status == 201:
                with tally.lock:
                    tally.acknowledged[key] = (data["id"], body)
                return
            if status >= 500:
                tally.add(server_errors=1)
            elif status == 409 and data.get("code") == "idempotency_key_in_use":
                tally.add(in_use=1)
            else:
                with tally.lock:
                    tally.refused.append((key, status, data))
                return
        time.sleep(backoff)
        backoff = min(backoff * 2, 1.0)
    with tally.lock:
        tally.unresolved.append(key)


# --- faults ----------------------------------------------------------------------------------


def inject_faults(server: Server, url: str, figures: dict) -> None:
    """Worker kills throughout; a master kill at 35% of the run; a database crash at 60%."""
    started = time.monotonic()
    master_at, database_at = DURATION * 0.35, DURATION * 0.6
    done_master = done_database = False
    next_worker_kill = 3.0
    while (elapsed := time.monotonic() - started) < DURATION:
        if not done_master and elapsed >= master_at:
            figures["master_restart"] = restart_master(server, figures)
            done_master = True
        elif not done_database and elapsed >= database_at:
            if os.environ.get("FAULTS_SKIP_DB_RESTART") != "1":
                figures["database_restart"] = crash_database(server, url)
            done_database = True
        elif elapsed >= next_worker_kill:
            kill_a_worker(server, figures)
            next_worker_kill = elapsed + 4.0
        time.sleep(0.2)


def kill_a_worker(server: Server, figures: dict) -> None:
    workers = server_children(server)
    if workers:
        victim = random.choice(workers)
        os.kill(victim, signal.SIGKILL)
        figures["events"].append(("worker SIGKILL", victim))


def restart_master(server: Server, figures: dict) -> dict:
    """SIGKILL the master, start a new one on the same port; seconds until it answers."""
    orphans = server_children(server)
    killed_at = time.monotonic()
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    figures.setdefault("orphans", []).extend(orphans)
    figures["events"].append(("master SIGKILL", server.process.pid))
    # The orphaned workers notice their parent is gone and exit once their kept-alive connections
    # are done; meanwhile they still hold the port (GUNICORN_REUSE_PORT=1 in SERVER_ENV lets the
    # new master bind beside them). They may answer /healthz too, so the new master must also be up.
    server.start(wait=60)
    wait_for(lambda: len(server_children(server)) > 0 and server.process.poll() is None, timeout=60)
    back = time.monotonic() - killed_at
    figures["events"].append(("master restarted", server.process.pid))
    return {"service_back_s": round(back, 2)}


def crash_database(server: Server, url: str) -> dict:
    started = time.monotonic()
    done = subprocess.run(PG_RESTART.split(), capture_output=True, text=True)
    if done.returncode != 0:
        raise BenchError(f"{PG_RESTART!r} failed: {done.stdout}{done.stderr}")
    database_up = wait_for(lambda: database_accepts(url), timeout=60)
    service_up = wait_for(lambda: healthy(server.port), timeout=60)
    return {
        "command": PG_RESTART,
        "database_back_s": round(database_up - started, 2),
        "service_back_after_database_s": round(max(service_up - database_up, 0.0), 2),
    }


def wait_for(condition, *, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.05)
    raise BenchError(f"not back after {timeout}s")


def database_accepts(url: str) -> bool:
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=2) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error:
        return False
    return True


def server_children(server: Server) -> list[int]:
    """The master's children, from /proc (each worker is one)."""
    master = server.process.pid
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == master:
            children.append(int(stat.parent.name))
    return children


def kill_orphans(pids: list[int]) -> None:
    """Workers of the killed master still alive at the end (they normally exit on their own).

    Only a process that is still that orphaned gunicorn worker: a pid can be reused by then.
    """
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            is_gunicorn = b"gunicorn" in (proc / "cmdline").read_bytes()
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if is_gunicorn and parent == 1:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- verification ----------------------------------------------------------------------------


def customer_total(url: str) -> Decimal:
    with psycopg.connect(libpq_url(url)) as conn:
        return conn.execute(
            "SELECT COALESCE(SUM(balance), 0) FROM accounts_account WHERE kind <> 'internal'"
        ).fetchone()[0]


def verify(url: str, user_id: int, tally: Tally, numbers: list[str]) -> dict:
    with psycopg.connect(libpq_url(url)) as conn:
        keys = {
            key: (str(txn) if txn else None, status)
            for key, txn, status in conn.execute(
                "SELECT key, transaction_id, status FROM transactions_idempotencykey"
                " WHERE user_id = %s",
                [user_id],
            )
        }
        transfers = {
            str(txn): (str(amount), source, target)
            for txn, amount, source, target in conn.execute(
                "SELECT t.id, t.amount, a.number, c.number FROM transactions_transaction t"
                " JOIN accounts_account a ON a.id = t.account_id"
                " JOIN accounts_account c ON c.id = t.counterparty_id"
                " WHERE t.kind = 'transfer'"
            )
        }
    missing, mismatched = [], []
    for key, (txn, body) in tally.acknowledged.items():
        stored = keys.get(key, (None, None))[0]
        if stored != txn or txn not in transfers:
            missing.append(key)
        elif transfers[txn] != (body["amount"], body["from_account"], body["to_account"]):
            mismatched.append(key)
    answered = [txn for txn, _ in keys.values() if txn]
    without_key = set(transfers) - set(answered)
    return {
        "transfers_in_ledger": len(transfers),
        "acknowledged_missing": missing,
        "acknowledged_mismatched": mismatched,
        "transfers_without_key": sorted(without_key),
        "keys_sharing_a_transfer": len(answered) - len(set(answered)),
        "unresolved_that_posted": sum(1 for key in tally.unresolved if keys.get(key, (None,))[0]),
        "total_after": customer_total(url),
    }


def report(figures: dict) -> int:
    tally: Tally = figures["tally"]
    checks = {
        "every acknowledged transfer exists exactly once": not figures["acknowledged_missing"],
        "acknowledged transfers carry what was sent": not figures["acknowledged_mismatched"],
        "no transfer posted twice (each has its key)": not figures["transfers_without_key"]
        and figures["keys_sharing_a_transfer"] == 0,
        "customers' total conserved": figures["total_before"] == figures["total_after"],
        "reconcile clean": figures["reconcile_clean"],
        "no unexpected refusal": not tally.refused,
    }
    database = figures.get("database_restart")
    if database is not None:
        checks[f"service back within {SERVICE_BACK_TARGET:.0f} s of the database"] = (
            database["service_back_after_database_s"] <= SERVICE_BACK_TARGET
        )
    print("faults injected:")
    for event, pid in figures["events"]:
        print(f"  {event} (pid {pid})")
    print(f"master restart: {figures.get('master_restart')}")
    print(f"database restart: {database or 'skipped (FAULTS_SKIP_DB_RESTART=1)'}")
    print(
        f"requests: {tally.attempts} attempts, {len(tally.acknowledged)} acknowledged "
        f"transfers, {tally.connection_errors} connection errors, {tally.server_errors} 5xx, "
        f"{tally.in_use} 409 in-use, {len(tally.unresolved)} unresolved "
        f"({figures['unresolved_that_posted']} of them posted), {len(tally.refused)} refused"
    )
    print(
        f"ledger: {figures['transfers_in_ledger']} transfers; total "
        f"{figures['total_before']} before, {figures['total_after']} after"
    )
    for refusal in tally.refused[:5]:
        print(f"  refused: {refusal}")
    print()
    for name, ok in checks.items():
        print(f"{'PASS' if ok else 'FAIL'}  {name}")
    if not figures["reconcile_clean"]:
        print(figures["reconcile_report"])
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
