"""Django's database cache, with an increment that cannot lose counts between workers.

Rate-limit counters are incremented by every gunicorn worker at once. Django's DatabaseCache
implements `incr` as get-then-set, so two workers can both read 4 and both write 5, and an
attacker gets more attempts than the limit (django-ratelimit's system check says as much). Here
the read and the write happen in one transaction that holds the row: `SELECT ... FOR UPDATE` on
PostgreSQL; on SQLite the project's IMMEDIATE transactions already serialise writers.
"""

import base64
import pickle
from datetime import UTC

from django.conf import settings
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router, transaction
from django.utils import timezone


class AtomicDatabaseCache(DatabaseCache):
    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        quote = connection.ops.quote_name
        table = quote(self._table)
        row_lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        now = timezone.now().replace(microsecond=0)
        if not settings.USE_TZ:
            now = now.astimezone(UTC).replace(tzinfo=None)
        with transaction.atomic(using=db), connection.cursor() as cursor:
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
            encoded = base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
            # The expiry is left alone: a counter must die with its window, not be extended.
            cursor.execute(
                f"UPDATE {table} SET {quote('value')} = %s "  # noqa: S608 - quoted identifiers only
                f"WHERE {quote('cache_key')} = %s",
                [encoded, key],
            )
        return value
