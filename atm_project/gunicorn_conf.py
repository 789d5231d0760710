"""Production gunicorn settings; every value can be changed through the environment."""

import multiprocessing
import os

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
# Request bodies are small JSON documents; refuse absurd headers early.
limit_request_field_size = 8190
# gunicorn's control socket lives at one fixed path per user, so two masters on one host (two app
# instances, the test suite's servers) would take it from each other; nothing here uses it.
control_socket_disable = True
