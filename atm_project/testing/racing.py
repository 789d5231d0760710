"""Run the same call from several real threads released at the same instant (PostgreSQL tests)."""

import threading
from collections.abc import Callable

from django.db import connection


def race(count: int, call: Callable[[int], object], timeout: float = 60) -> list:
    """Call `call(i)` for i in 0..count-1 from `count` threads that start together.

    Returns the results in thread order. A thread's exception is re-raised here, not lost. Each
    thread closes its own database connection, so the test database can be dropped afterwards.
    """
    start = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout)
            results[i] = call(i)
        except BaseException as error:  # re-raised in the test's thread below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung"
    if errors:
        raise errors[0]
    return results
