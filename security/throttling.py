"""Rate limits (docs/api.md "Rate limits") as DRF throttles counted by django-ratelimit on the
shared cache.

django-ratelimit keeps the counters in the `default` cache (Redis, or the database table of
`security.cache.AtomicDatabaseCache`), so a limit holds across every gunicorn worker and host;
DRF's own throttles would do the same, but django-ratelimit's fixed windows give an exact
Retry-After. Being DRF throttles, they run after authentication (the per-user money limit needs
the user) and are refused with DRF's `Throttled`, which the project's exception handler turns
into 429 `throttled` with `Retry-After`. `RATELIMIT_ENABLE=0` switches every one of them off
(django-ratelimit reads the setting itself).

When the shared cache cannot be reached, a limit guarding a credential (sign-in, card sign-in,
registration, password reset and change) fails closed: 503 `service_unavailable`, since an
unlimited password oracle is worse than a short outage. The per-user money limit fails open:
customers keep moving money, and each such request is logged and counted
(`atm_rate_limits_failed_open_total` in /metrics).
"""

import ipaddress
import unicodedata

from django.conf import settings
from django_ratelimit.core import get_usage
from rest_framework.throttling import BaseThrottle

from atm_project.outages import CACHE_OUTAGE_ERRORS, cache_unavailable, count_failed_open
from audit.services import record_event

# The first refusal of a window is audited; the rest of a flood would only bloat the trail.
THROTTLED_EVENT = "security.throttled"


class RateLimit(BaseThrottle):
    """One counter: `scope` names it, `rate` is django-ratelimit's "count/period" ("10/m")."""

    scope: str
    rate: str
    # What happens when the shared cache is unreachable: refuse with 503, or let the request by.
    fails_open = False

    def get_rate(self) -> str:
        return self.rate

    def key(self, request) -> str | None:
        """Whose attempts are counted; None means this limit does not apply to the request."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        value = self.key(request)
        if value is None:
            return True
        try:
            usage = get_usage(
                request,
                group=self.scope,
                key=lambda _group, _request: value,
                rate=self.get_rate(),
                increment=True,
            )
        except CACHE_OUTAGE_ERRORS as error:
            return self._cache_unreachable(error)
        if usage is None or not usage["should_limit"]:
            return True
        if usage["time_left"] < 0:
            # django-ratelimit's answer when the cache returned no count at all.
            return self._cache_unreachable(None)
        self.retry_after = max(1, usage["time_left"])
        if usage["count"] == usage["limit"] + 1:
            _audit(request, scope=self.scope, rate=self.get_rate())
        return False

    def wait(self) -> int:
        return self.retry_after

    def _cache_unreachable(self, error: BaseException | None) -> bool:
        if not self.fails_open:
            raise cache_unavailable() from error
        count_failed_open(self.scope, error)
        return True


def client_network(request) -> str:
    # REMOTE_ADDR only: a client-sent X-Forwarded-For would let anyone pick a fresh "IP" per
    # request. Behind a proxy, gunicorn's forwarded_allow_ips maps the real one onto it.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        # No usable address (a Unix-socket proxy): all such requests share one counter.
        return "unknown"
    if address.version == 6:
        # One IPv6 customer owns a whole /64; counting single addresses would be no limit.
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


class IPRateLimit(RateLimit):
    def key(self, request) -> str | None:
        return client_network(request)


class BodyFieldRateLimit(RateLimit):
    """Counts attempts against one identity named in the JSON body (a username, a card)."""

    field: str

    def normalize(self, value: str, request) -> str:
        return value

    def key(self, request) -> str | None:
        data = request.data
        value = data.get(self.field) if isinstance(data, dict) else None
        if not isinstance(value, str):
            return None
        normalized = self.normalize(value, request)
        # The cache key is a SHA-256 of this, so no username or card number is stored in clear.
        return normalized or None


class UserRateLimit(RateLimit):
    def key(self, request) -> str | None:
        user = request.user
        return str(user.pk) if user is not None and user.is_authenticated else None


class TokenIPRateLimit(IPRateLimit):
    scope, rate = "auth.token.ip", "10/m"


def _username_key(value: str) -> str:
    # As sign-in normalises it (NFKC), and case variants share a counter: stricter, never looser.
    return unicodedata.normalize("NFKC", value).strip().casefold()


class TokenUsernameIPRateLimit(BodyFieldRateLimit):
    """5 a minute per username from one address: a stranger guessing from elsewhere does not
    lock the customer out, since the customer's own address has its own count."""

    scope, rate, field = "auth.token.username_ip", "5/m", "username"

    def normalize(self, value: str, request) -> str:
        return f"{_username_key(value)}|{client_network(request)}"


class TokenUsernameCeiling(BodyFieldRateLimit):
    """A ceiling per username from all addresses together, against guessing spread over many
    (SIGNIN_USERNAME_CEILING, default 50 an hour)."""

    scope, field = "auth.token.username", "username"

    def get_rate(self) -> str:
        return settings.SIGNIN_USERNAME_CEILING

    def normalize(self, value: str, request) -> str:
        return _username_key(value)


class CardIPRateLimit(IPRateLimit):
    scope, rate = "auth.card.ip", "10/m"


class CardNumberRateLimit(BodyFieldRateLimit):
    scope, rate, field = "auth.card.number", "5/m", "card_number"

    def normalize(self, value: str, request) -> str:
        # "4000 0012 3456 7899" and "4000001234567899" are the same card.
        return "".join(ch for ch in value if ch.isdigit())


class RegisterRateLimit(IPRateLimit):
    scope, rate = "auth.register.ip", "5/m"


class PasswordResetRateLimit(IPRateLimit):
    scope, rate = "auth.password_reset.ip", "5/m"


class PasswordResetConfirmRateLimit(IPRateLimit):
    scope, rate = "auth.password_reset_confirm.ip", "5/m"


class PasswordChangeRateLimit(UserRateLimit):
    """A stolen access token must not become an oracle for guessing the old password."""

    scope, rate = "auth.password_change.user", "5/m"


class CurrentPasswordRateLimit(UserRateLimit):
    """Profile changes that check the current password (an email change) share the password
    change's reasoning: at most 5 guesses a minute per user. Other requests are not counted."""

    scope, rate = "auth.current_password.user", "5/m"

    def key(self, request) -> str | None:
        data = request.data if request.method == "PATCH" else None
        if not isinstance(data, dict) or "current_password" not in data:
            return None
        return super().key(request)


class MoneyRateLimit(UserRateLimit):
    scope = "money.user"
    # A cache outage must not stop the bank: a customer's own money moves on, logged and counted.
    fails_open = True

    def get_rate(self) -> str:
        return settings.RATELIMIT_MONEY_RATE


TOKEN_RATE_LIMITS = [TokenIPRateLimit, TokenUsernameIPRateLimit, TokenUsernameCeiling]
CARD_RATE_LIMITS = [CardIPRateLimit, CardNumberRateLimit]
MONEY_RATE_LIMITS = [MoneyRateLimit]


def _audit(request, *, scope: str, rate: str) -> None:
    user = request.user
    actor = user if user is not None and user.is_authenticated else None
    record_event(
        action=THROTTLED_EVENT,
        actor=actor,
        object_type="rate_limit",
        object_id=scope,
        data={"scope": scope, "rate": rate, "path": request.path, "method": request.method},
    )
