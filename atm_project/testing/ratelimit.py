"""When a django-ratelimit counter starts afresh, for tests that must fit a burst in one window."""

import zlib

WINDOW = 60  # seconds: every limit of the API is per minute


def window_end(key_value: str, now: float, period: int = WINDOW) -> int:
    """The end of the fixed window `now` falls in, for the counter keyed by `key_value`.

    django-ratelimit's windows end at a per-key offset (crc32 of the key) within each period, so
    that all counters do not reset at once; this is its own computation (`_get_window`).
    """
    ts = int(now)
    end = ts - ts % period + zlib.crc32(key_value.encode()) % period
    return end + period if end < ts else end
