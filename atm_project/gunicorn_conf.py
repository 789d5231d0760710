"""Production gunicorn settings; every value can be changed through the environment."""

import multiprocessing
import os
import shutil
import sys
import tempfile
from pathlib import Path

# gunicorn reads this file before it imports the project; the logging classes live in it.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from atm_project.logs import ACCESS_LOG_FORMAT, GunicornLogger, logging_config

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() * 2 + 1))
# Threaded workers: they keep client connections alive (sync workers close each one) and overlap
# requests waiting on PostgreSQL; measured in docs/performance.md ("Tuning"): about 1.7x the
# balance reads of sync workers, transfers unchanged. Each thread has its own DB connection.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
# SO_REUSEPORT lets a second master bind a port another still listens on, and the kernel then
# splits the connections between them: two servers, perhaps on two databases, on one port. So it
# is off; only the fault harness (`make faults`, bench/faults.py) turns it on with
# GUNICORN_REUSE_PORT=1, to restart a killed master at once while its orphaned workers still
# hold the port. Without it gunicorn refuses a taken port, and `make run` checks first.
reuse_port = os.environ.get("GUNICORN_REUSE_PORT", "0") == "1"
# Recycle workers now and then so a slow leak can never take a host down.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = 500
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-")
errorlog = "-"
# Access lines carry the request id; with LOG_FORMAT=json every line, gunicorn's and the app's,
# is one JSON object (atm_project/logs.py).
logger_class = GunicornLogger
access_log_format = ACCESS_LOG_FORMAT
logconfig_dict = logging_config(
    log_format=os.environ.get("LOG_FORMAT", "plain"),
    level=os.environ.get("LOG_LEVEL", "INFO"),
    gunicorn=True,
)
# GUNICORN_ACCESSLOG: "-" is stdout, "off" no access log, anything else a file.
if accesslog == "off":
    accesslog = None
    logconfig_dict["handlers"]["access"] = {"class": "logging.NullHandler"}
elif accesslog != "-":
    access_handler = logconfig_dict["handlers"]["access"]
    del access_handler["stream"]
    access_handler.update({"class": "logging.FileHandler", "filename": accesslog})

# Prometheus metrics (atm_project/metrics.py) are counted in every worker and added up at
# scrape time from files in this directory: a fresh one per server unless the operator names one.
_own_metrics_dir = "PROMETHEUS_MULTIPROC_DIR" not in os.environ
if _own_metrics_dir:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="atm-metrics-")


def on_starting(server):
    # Files of an earlier server would add its counts to this one's.
    directory = Path(os.environ["PROMETHEUS_MULTIPROC_DIR"])
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("*.db"):
        stale.unlink()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _own_metrics_dir:
        shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


# Request bodies are small JSON documents; refuse absurd headers early.
limit_request_field_size = 8190
# gunicorn's control socket lives at one fixed path per user, so two masters on one host (two app
# instances, the test suite's servers) would take it from each other; nothing here uses it.
control_socket_disable = True
