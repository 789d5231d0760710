"""What PostgreSQL itself sees while the bench runs: backends waiting on locks, and which
PL/pgSQL functions the ledger called.

Both read PostgreSQL's own views (`pg_locks`, `pg_stat_activity`, `pg_stat_user_functions`) on a
connection of their own, so they count what happened, whatever the application believes it does.
"""

import statistics
import threading
import time

import psycopg

from bench.harness import BenchError, libpq_url

# Backends of one database waiting for a lock they asked for: a row lock shows up as a wait on the
# holder's transaction id (or the tuple), an advisory lock as itself; pg_locks' own `database`
# column is empty for transaction ids, hence the join to pg_stat_activity.
WAITING_BACKENDS = """
SELECT count(DISTINCT l.pid)
FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid
WHERE NOT l.granted AND a.datname = %s
"""


def summarize_waits(samples: list[int]) -> dict:
    """Mean and max waiting backends over the samples, and the share of samples with any."""
    if not samples:
        raise BenchError("the lock-wait sampler took no sample (a run shorter than its period?)")
    return {
        "samples": len(samples),
        "mean": round(statistics.fmean(samples), 2),
        "max": max(samples),
        "share_waiting": round(sum(1 for n in samples if n) / len(samples), 3),
    }


class LockWaitSampler:
    """Counts the waiting backends of `database` every `interval` seconds while in its `with`.

    A thread with its own connection: it never waits on the locks it counts. An error in the
    thread is raised again when the `with` block ends, so a broken sampler cannot report zero.
    """

    def __init__(self, url: str, database: str, interval: float = 0.025):
        self.url, self.database, self.interval = url, database, interval
        self.samples: list[int] = []
        self._stop = threading.Event()
        self._error: psycopg.Error | None = None

    def __enter__(self) -> "LockWaitSampler":
        # Connected before the load starts: the first samples are not lost to the handshake.
        self._conn = psycopg.connect(libpq_url(self.url), autocommit=True)
        self._thread = threading.Thread(target=self._sample, name="lock-wait-sampler")
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._conn.close()
        if self._error is not None and exc[0] is None:
            raise BenchError(f"lock-wait sampler failed: {self._error}") from self._error

    def _sample(self) -> None:
        try:
            while not self._stop.is_set():
                (count,) = self._conn.execute(WAITING_BACKENDS, [self.database]).fetchone()
                self.samples.append(count)
                self._stop.wait(self.interval)
        except psycopg.Error as error:
            self._error = error

    def summary(self) -> dict:
        return summarize_waits(self.samples) | {"interval_ms": round(self.interval * 1000)}


# --- PL/pgSQL calls ---------------------------------------------------------------------------


def track_function_calls(url: str, database: str) -> None:
    """Have every later session of `database` count its PL/pgSQL calls (a superuser setting)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{database}\" SET track_functions = 'pl'")


# Other client sessions of the database, busy ones and all; autovacuum workers come and go by
# themselves, so they do not count.
OTHER_SESSIONS = """
SELECT count(*) FILTER (WHERE state <> 'idle'), count(*) FROM pg_stat_activity
WHERE datname = %s AND backend_type = 'client backend' AND pid <> pg_backend_pid()
"""


def wait_until_quiet(url: str, database: str, timeout: float = 60) -> None:
    """Until no other session of `database` is busy: requests a finished wrk left in flight
    (queued on a hot row, some of them) have drained, and cannot count in the next run."""
    _wait_for_sessions(url, database, busy_only=True, timeout=timeout)


def wait_until_idle(url: str, database: str, timeout: float = 60) -> None:
    """Until no other session of `database` is left (a stopped server's connections close a
    moment after its processes exit). A backend flushes its statistics before it leaves
    pg_stat_activity, so after this they are complete."""
    _wait_for_sessions(url, database, busy_only=False, timeout=timeout)


def _wait_for_sessions(url: str, database: str, *, busy_only: bool, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            busy, connected = conn.execute(OTHER_SESSIONS, [database]).fetchone()
            if (busy if busy_only else connected) == 0:
                return
            time.sleep(0.05)
    state = "busy" if busy_only else "open"
    raise BenchError(f"{database}: sessions still {state} after {timeout}s")


def ledger_counters(url: str) -> dict:
    """Posted transactions so far and each PL/pgSQL function's calls (cumulative counters)."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        (transactions,) = conn.execute("SELECT count(*) FROM transactions_transaction").fetchone()
        calls = conn.execute("SELECT funcname, calls FROM pg_stat_user_functions").fetchall()
    return {"transactions": transactions, "functions": dict(calls)}


def calls_per_transaction(before: dict, after: dict) -> dict:
    """Each function's calls between two `ledger_counters`, per transaction posted meanwhile."""
    posted = after["transactions"] - before["transactions"]
    if posted <= 0:
        raise BenchError("no transaction was posted between the two counter readings")
    calls = {
        name: count - before["functions"].get(name, 0) for name, count in after["functions"].items()
    }
    return {
        "transactions": posted,
        "per_transaction": {
            name: round(count / posted, 2) for name, count in sorted(calls.items()) if count
        },
    }
