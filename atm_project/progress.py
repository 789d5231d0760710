"""Progress for long management commands: a count on a terminal, nothing in cron.

    progress = TerminalProgress(self.stderr, "Verifying audit events", total=n)
    for done in ...: progress.update(done)
    progress.finish()

Written to stderr, so a command's report on stdout stays clean for scripts, and only when that
stream is a terminal: a cron job's mail or a log file never fills with carriage returns.
"""

import time


class TerminalProgress:
    # Redrawing more often than this costs time and flickers.
    MIN_INTERVAL_SECONDS = 0.1

    def __init__(self, stream, label: str, *, total: int):
        self.stream = stream
        self.label = label
        self.total = total
        self.enabled = _is_terminal(stream)
        self._last_drawn = 0.0

    def update(self, done: int) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if done < self.total and now - self._last_drawn < self.MIN_INTERVAL_SECONDS:
            return
        self._last_drawn = now
        percent = 100 * done // self.total if self.total else 100
        self.stream.write(f"\r{self.label}: {done}/{self.total} ({percent}%)", ending="")
        self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\033[K", ending="")  # clear the line for the report
            self.stream.flush()


def _is_terminal(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())
