"""Run the same call from several real threads released at the same instant.

    from atm_project.testing.racing import race

    responses = race(10, lambda i: client.post(url, body, format="json"))

The one way every test races: in-process against PostgreSQL's row locks
(`@pytest.mark.django_db(transaction=True)` and the `requires_postgres` fixture), or over HTTP
against a live server.
"""

import threading
from collections.abc import Callable

from django.db import connection


def race(
    count: int,
    call: Callable[[int], object],
    *,
    timeout: float = 60,
    return_exceptions: bool = False,
) -> list:
    """Call `call(i)` for i in 0..count-1 from `count` threads that start together.

    Returns the results in thread order. A thread's exception is re-raised here, not lost; with
    `return_exceptions=True` it takes that thread's place in the results instead (for races whose
    losers are refused with an exception). Each thread closes its own database connection, so the
    test database can be dropped afterwards.
    """
    start = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout)
            results[i] = call(i)
        except BaseException as error:  # reported to the test below, not swallowed
            if return_exceptions:
                results[i] = error
            else:
                errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a racing thread hung: deadlock?"
    if errors:
        raise errors[0]
    return results
