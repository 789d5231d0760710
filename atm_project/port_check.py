"""`make run` refuses a port that is taken: never two servers answering on one port.

Run before migrating, so a second `make run` stops at once with a clear message instead of
touching a database. gunicorn itself would refuse too (after five one-second retries), now that
`reuse_port` is off outside the fault harness (gunicorn_conf.py).
"""

import os
import socket
import sys


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As gunicorn binds: a port left in TIME_WAIT is free, one with a listener is not.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
    if port_is_free(host, port):
        return 0
    print(
        f"Port {port} on {host} is taken: another server is running there. "
        "Stop it, or choose another port: make run PORT=8001",
        file=sys.stderr,
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
