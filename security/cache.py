"""Django's database cache, made fit for rate-limit counters: nothing lost, nothing culled alive,
few statements.

Rate-limit counters are added and incremented by every gunicorn worker at once
(django-ratelimit: `add` starts a key's window, `incr` counts each further attempt).

- Django's DatabaseCache implements `incr` as get-then-set, so two workers can both read 4 and
  both write 5, and an attacker gets more attempts than the limit (django-ratelimit's system
  check says as much). Here the read and the write happen in one transaction that holds the row:
  `SELECT ... FOR UPDATE` on PostgreSQL; on SQLite the project's IMMEDIATE transactions already
  serialise writers.
- Django's `add` counts the whole table, reads the row, then tries an INSERT that fails while
  the key lives: four statements (and a rolled-back transaction) on every rate-limited request.
  Here it is one upsert that takes over only an expired row.
- Django culls a third of the table, live entries included, once it holds more than
  MAX_ENTRIES (300) rows: 300 customers moving money in one minute would reset one another's
  counters, and an attacker could reset them on purpose. Here only expired rows are dropped: by
  `add` when a key starts a new window (one indexed DELETE per key and window), and by `set`'s
  cull.
"""

import base64
import pickle
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone


class AtomicDatabaseCache(DatabaseCache):
    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection = self._write_connection()
        quote = connection.ops.quote_name
        table = quote(self._table)
        cache_key, stored, expires = quote("cache_key"), quote("value"), quote("expires")
        now = self._now()
        with connection.cursor() as cursor:
            # Inserted, or an expired row taken over: one row changed; a live key: none.
            cursor.execute(
                f"INSERT INTO {table} ({cache_key}, {stored}, {expires}) VALUES (%s, %s, %s) "  # noqa: S608 - quoted identifiers only
                f"ON CONFLICT ({cache_key}) DO UPDATE SET {stored} = excluded.{stored}, "
                f"{expires} = excluded.{expires} WHERE {table}.{expires} < %s",
                [
                    key,
                    self._encode(value),
                    connection.ops.adapt_datetimefield_value(self._expiry(timeout)),
                    connection.ops.adapt_datetimefield_value(now),
                ],
            )
            added = cursor.rowcount == 1
            if added:
                self._delete_expired(cursor, now)
        return added

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        connection = self._write_connection()
        quote = connection.ops.quote_name
        table = quote(self._table)
        row_lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = self._now()
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {quote('value')} FROM {table} "  # noqa: S608 - quoted identifiers only
                f"WHERE {quote('cache_key')} = %s AND {quote('expires')} >= %s{row_lock}",
                [key, connection.ops.adapt_datetimefield_value(now)],
            )
            row = cursor.fetchone()
            if row is None:
                raise ValueError(f"Key '{key}' not found")
            stored = connection.ops.process_clob(row[0])
            value = pickle.loads(base64.b64decode(stored.encode())) + delta  # noqa: S301 - our own rows
            # The expiry is left alone: a counter must die with its window, not be extended.
            cursor.execute(
                f"UPDATE {table} SET {quote('value')} = %s "  # noqa: S608 - quoted identifiers only
                f"WHERE {quote('cache_key')} = %s",
                [self._encode(value), key],
            )
        return value

    def _cull(self, db, cursor, now, num):
        """Called by `set` when the table holds more than MAX_ENTRIES rows."""
        self._delete_expired(cursor, now)

    def _delete_expired(self, cursor, now) -> None:
        connection = cursor.db
        quote = connection.ops.quote_name
        cursor.execute(
            f"DELETE FROM {quote(self._table)} WHERE {quote('expires')} < %s",  # noqa: S608 - quoted identifiers only
            [connection.ops.adapt_datetimefield_value(now)],
        )

    def _write_connection(self):
        return connections[router.db_for_write(self.cache_model_class)]

    @staticmethod
    def _now() -> datetime:
        # Whole seconds, as Django's database cache stores and compares them.
        now = timezone.now().replace(microsecond=0)
        return now if settings.USE_TZ else now.astimezone(UTC).replace(tzinfo=None)

    def _expiry(self, timeout) -> datetime:
        expires_at = self.get_backend_timeout(timeout)
        if expires_at is None:
            moment = datetime.max
        else:
            moment = datetime.fromtimestamp(expires_at, tz=UTC if settings.USE_TZ else None)
        return moment.replace(microsecond=0)

    def _encode(self, value) -> str:
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
