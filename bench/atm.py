"""The ATM path under load: card sign-in, hold, capture (the two-phase cash withdrawal), next to
the one-step withdrawal (card sign-in, withdraw), through the public API.

Each worker thread plays one ATM with a card of its own (so the two scenarios never share an
account, and no account's daily limit is reached: each session takes 1.00) and repeats whole
sessions for the given duration. A session's steps must each answer as expected, or the session
counts as failed. Reported per scenario: sessions/s, session latency percentiles, and each step's
mean latency (card sign-in verifies an Argon2 PIN hash, which dominates both scenarios).
"""

import secrets
import statistics
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from bench.harness import API, BenchError, Client

PIN = "2468"
AMOUNT = "1.00"

# scenario name -> its steps after the card sign-in: (step name, expected status, request)
# (step name, expected status, path from (account number, previous step's answer)); each step
# POSTs {"amount": AMOUNT}.
Step = tuple[str, int, Callable[[str, dict], str]]
SCENARIOS: dict[str, list[Step]] = {
    "atm_withdraw": [
        ("withdraw", 201, lambda number, _: f"/accounts/{number}/withdraw/"),
    ],
    "atm_hold_capture": [
        ("hold", 201, lambda number, _: f"/accounts/{number}/holds/"),
        ("capture", 201, lambda _, hold: f"/holds/{hold['id']}/capture/"),
    ],
}


def issue_cards(port: int, token: str, numbers: list[str]) -> list[tuple[str, str]]:
    """A card (with PIN 2468) on each account: [(card number, account number)]."""
    client = Client(port, token)
    try:
        issued = [
            client.expect(201, "POST", f"{API}/accounts/{n}/cards/", {"pin": PIN}) for n in numbers
        ]
        return [(card["card_number"], card["account_number"]) for card in issued]
    finally:
        client.close()


def run_session(client: Client, card: tuple[str, str], steps: list[Step], timings: dict) -> bool:
    """One customer at the machine: sign in with the card, then the scenario's steps, each with
    a fresh Idempotency-Key as the web ATM sends. False if any step answered otherwise."""
    card_number, number = card
    client.token = None
    sign_in = {"card_number": card_number, "pin": PIN}
    status, last = _timed(
        timings, "card_sign_in", client.request, "POST", f"{API}/auth/card/", sign_in
    )
    if status != 200:
        return False
    client.token = last["access"]
    for name, expected, path_of in steps:
        path = API + path_of(number, last)
        headers = {"Idempotency-Key": secrets.token_hex(12)}
        status, last = _timed(
            timings, name, client.request, "POST", path, {"amount": AMOUNT}, headers
        )
        if status != expected:
            return False
    return True


def _timed(timings: dict, name: str, call, *args):
    started = time.perf_counter()
    try:
        return call(*args)
    finally:
        timings.setdefault(name, []).append((time.perf_counter() - started) * 1000)


def run_scenario(port: int, cards: list[tuple[str, str]], steps: list[Step], duration: float):
    """Every card's ATM repeats sessions for `duration` seconds, all at once."""
    stop_at = time.monotonic() + duration
    lock = threading.Lock()
    sessions: list[float] = []
    failures = 0
    timings: dict[str, list[float]] = {}

    def atm(card):
        nonlocal failures
        client, mine, local = Client(port), [], {}
        failed = 0
        try:
            while time.monotonic() < stop_at:
                started = time.perf_counter()
                if run_session(client, card, steps, local):
                    mine.append((time.perf_counter() - started) * 1000)
                else:
                    failed += 1
        finally:
            client.close()
        with lock:
            sessions.extend(mine)
            failures += failed
            for name, values in local.items():
                timings.setdefault(name, []).extend(values)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=len(cards)) as pool:
        list(pool.map(atm, cards))
    elapsed = time.monotonic() - started
    return summarize(sessions, failures, timings, elapsed, atms=len(cards))


def summarize(sessions, failures, timings, elapsed, *, atms: int) -> dict:
    if not sessions:
        raise BenchError(f"no ATM session succeeded ({failures} failed)")
    ordered = sorted(sessions)
    return {
        "sessions": len(sessions),
        "failed": failures,
        "sessions_per_s": round(len(sessions) / elapsed, 1),
        **{f"p{p}_ms": round(percentile(ordered, p), 1) for p in (50, 90, 99)},
        "step_mean_ms": {name: round(statistics.fmean(v), 1) for name, v in timings.items()},
        "atms": atms,
        "duration_s": round(elapsed, 1),
    }


def percentile(ordered: list[float], p: int) -> float:
    """Nearest-rank percentile of sorted values (defined for a single value too)."""
    return ordered[max(0, -(-len(ordered) * p // 100) - 1)]


def compare(port: int, token: str, numbers: list[str], *, atms: int, duration: float) -> dict:
    """Both scenarios, one after the other, each with its own `atms` funded accounts."""
    if len(numbers) < 2 * atms:
        raise BenchError(f"need {2 * atms} funded accounts for the ATM scenarios")
    results = {}
    for index, (name, steps) in enumerate(SCENARIOS.items()):
        cards = issue_cards(port, token, numbers[index * atms : (index + 1) * atms])
        results[name] = run_scenario(port, cards, steps, duration)
    return results
