"""Email sent off the request path.

A password reset must answer the same, in about the same time, whether or not the address has an
account; sending through SMTP inside the request would make the answer for a real customer
measurably slower. So mail goes to one background thread per process, in order. The thread is not
a daemon: a worker that is shutting down (gunicorn's max_requests) sends what is queued first.
"""

import logging
from concurrent.futures import Future, ThreadPoolExecutor

from django.core.mail import EmailMessage

logger = logging.getLogger(__name__)

_sender = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mail")


def _send(message: EmailMessage) -> None:
    try:
        message.send()
    except Exception:
        # The body carries a reset token: log that sending failed, never the message.
        logger.exception("An email could not be sent (subject %r)", message.subject)


def send_in_background(message: EmailMessage) -> Future:
    return _sender.submit(_send, message)


def wait_for_outgoing_mail(timeout: float = 10) -> None:
    """Blocks until every message queued so far has been handed to the email backend."""
    _sender.submit(lambda: None).result(timeout=timeout)
