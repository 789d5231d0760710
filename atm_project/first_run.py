"""What `make run` prints before it starts the server: where to go and how to sign in.

It also refuses to start, before anything touches a database, when something already answers on
the port: never two servers on one port. (gunicorn itself refuses a taken port too, since
`reuse_port` is off outside the fault harness: see gunicorn_conf.py.)

    python -m atm_project.first_run                    # check the port, print the welcome
    python -m atm_project.first_run --check-port-only  # exit 1 when the port is taken

HOST and PORT come from the environment, as for gunicorn.
"""

import os
import socket
import sys


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((host, port)) == 0


def welcome(base: str) -> str:
    """Where to go, with the demo data's published credentials (seed_demo owns them)."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "atm_project.settings")
    django.setup()
    from atm_project import demo

    return f"""
  ATM backend: {base}/

  Web ATM     {base}/atm/       card {demo.DEMO_CARD}  PIN {demo.DEMO_PIN}
  API docs    {base}/api/docs/  (schema: {base}/api/schema/)
  API root    {base}/api/v1/    customer {demo.DEMO_USERNAME} / {demo.DEMO_PASSWORD}
  Admin       {base}/admin/     staff only; `.venv/bin/python manage.py seed_demo --with-admin`
                                adds {demo.ADMIN_USERNAME} / {demo.ADMIN_PASSWORD}
  Health      {base}/healthz    metrics: {base}/metrics

  Ctrl-C stops the server.
"""


def main(argv: list[str]) -> int:
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "8000"))
    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else host  # noqa: S104 - compared only
    if port_in_use(probe_host, port):
        print(
            f"Port {port} on {probe_host} is already in use (another `make run`?). "
            f"Stop that server, or choose another port: PORT=8001 make run",
            file=sys.stderr,
        )
        return 1
    if "--check-port-only" not in argv:
        print(welcome(f"http://{probe_host}:{port}"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
