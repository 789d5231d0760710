"""Log configuration shared by Django and gunicorn: plain lines or, with LOG_FORMAT=json, one
JSON object per line; either way every line carries the request id, the access log included.

Django's LOGGING (settings.py) and gunicorn's `logconfig_dict` (gunicorn_conf.py) are both built
here, so the application's lines and gunicorn's share one format. The access log's request id is
the X-Request-ID the response carries (set by RequestIDMiddleware), so support can grep one
customer's request through the access line and every application line it caused.
"""

import traceback

from gunicorn import glogging

# gunicorn's "combined" format, plus the time taken and the request id of the response.
ACCESS_LOG_FORMAT = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms '
    "request_id=%({x-request-id}o)s"
)

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
# The fields of every JSON line; any `extra` a line was logged with (the access log's method,
# path, status...) is added to them.
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"
JSON_RENAMES = {"asctime": "time", "levelname": "level", "name": "logger"}


def logging_config(*, log_format: str, level: str, gunicorn: bool = False) -> dict:
    """A dictConfig: `log_format` "json" or "plain"; `gunicorn` adds gunicorn's own loggers."""
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "json" if log_format == "json" else "plain",
        "filters": ["request_id"],
    }
    config = {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "atm_project.middleware.RequestIDLogFilter"}},
        "formatters": {
            "plain": {"format": PLAIN_FORMAT},
            "json": {
                "()": "pythonjsonlogger.json.JsonFormatter",
                "fmt": JSON_FIELDS,
                "rename_fields": JSON_RENAMES,
            },
        },
        "handlers": {"console": {**handler, "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django logs every 4xx as a warning with the path; our own handler logs what matters.
            "django.request": {"level": "ERROR"},
        },
    }
    if gunicorn:
        # A plain access line is gunicorn's access_log_format alone (which names the request id).
        config["formatters"]["access_plain"] = {"format": "%(message)s"}
        access_formatter = "json" if log_format == "json" else "access_plain"
        config["handlers"]["access"] = {
            **handler,
            "formatter": access_formatter,
            "stream": "ext://sys.stdout",
        }
        config["loggers"].update(
            {
                "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
                "gunicorn.access": {"handlers": ["access"], "level": "INFO", "propagate": False},
            }
        )
    return config


class GunicornLogger(glogging.Logger):
    """gunicorn's logger, whose access lines also carry, as fields of the record (so of a JSON
    line), the request id and what was asked and answered."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
        status = str(atoms["s"])
        fields = {
            "request_id": atoms["{x-request-id}o"],
            "remote_addr": atoms["h"],
            "method": atoms["m"],
            "path": atoms["U"],
            "status": int(status) if status.isdigit() else status,
            "bytes": atoms["B"],
            "duration_ms": atoms["M"],
            "user_agent": atoms["a"],
        }
        try:
            self.access_log.info(self.cfg.access_log_format, atoms, extra=fields)
        except Exception:
            self.error(traceback.format_exc())
