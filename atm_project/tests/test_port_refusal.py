"""`make run` never shares a port: the check refuses a taken one, and so does gunicorn itself
(no SO_REUSEPORT outside the fault harness)."""

import os
import subprocess
import sys
from urllib.parse import urlsplit

import pytest

from atm_project.testing.live_server import BASE_DIR, VENV_BIN

pytestmark = pytest.mark.server


def run_with_port(argv: list[str], port: int, **env) -> subprocess.CompletedProcess:
    return subprocess.run(
        argv,
        cwd=BASE_DIR,
        env={**os.environ, "HOST": "127.0.0.1", "PORT": str(port), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_second_server_on_a_taken_port_is_refused(gunicorn_server):
    server = gunicorn_server(workers=1)
    port = urlsplit(server.url).port
    check = run_with_port(
        [sys.executable, "-m", "atm_project.first_run", "--check-port-only"], port
    )
    assert check.returncode == 1
    assert f"Port {port} on 127.0.0.1 is already in use" in check.stderr

    second = run_with_port(
        [
            str(VENV_BIN / "gunicorn"),
            "--config",
            "atm_project/gunicorn_conf.py",
            "--no-control-socket",
            "atm_project.wsgi",
        ],
        port,
        DJANGO_SETTINGS_MODULE="atm_project.settings",
        WEB_CONCURRENCY="1",
    )
    assert second.returncode != 0
    assert "Connection in use" in second.stdout + second.stderr
    assert server.request("GET", "/healthz").status == 200
