"""Settings for the ATM backend.

Configuration is by environment variable only (12-factor); an unset variable means the embedded
default documented in the README, so `make run` on a fresh clone needs nothing but Python.
"""

import logging
import os
import secrets
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from atm_project.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def load_or_create_secret_key(path: Path) -> str:
    """A key generated once per checkout and kept in an ignored file, never a literal in git."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        key = secrets.token_urlsafe(64)
        # O_EXCL: two processes starting at once must not end up with different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key)
        return key


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or load_or_create_secret_key(
    BASE_DIR / ".secret_key"
)
# The key of the audit trail's HMAC chain (audit/services.py). Kept apart from the secret key:
# it must outlive a secret key rotation, and it belongs in production with the few who verify.
AUDIT_CHAIN_KEY = os.environ.get("AUDIT_CHAIN_KEY") or load_or_create_secret_key(
    BASE_DIR / ".audit_chain_key"
)
DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")

INSTALLED_APPS = [
    # The back office first, so its admin templates win; its AdminConfig installs the staff
    # admin site (two-factor sign-in, sign-in limits, every change audited).
    "backoffice",
    "backoffice.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "users",
    "accounts",
    "transactions",
    "audit",
    "atm",
    "security",
]

MIDDLEWARE = [
    "atm_project.metrics.MetricsMiddleware",
    "atm_project.middleware.RequestIDMiddleware",
    "audit.context.AuditContextMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "security.middleware.SecurityHeadersMiddleware",
    "atm_project.json_body.JSONBodyMiddleware",
    # atm_project.browser_only.*: the browser's middleware (static files, sessions, the session
    # user, OTP, messages), which /api/ requests pass by: the API knows only bearer tokens.
    "atm_project.browser_only.WhiteNoiseMiddleware",
    "atm_project.browser_only.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "atm_project.browser_only.AuthenticationMiddleware",
    # Marks a staff session verified by a TOTP device (request.user.is_verified()).
    "atm_project.browser_only.OTPMiddleware",
    "atm_project.browser_only.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "atm_project.urls"
WSGI_APPLICATION = "atm_project.wsgi.application"
# Routes answer with and without a trailing slash themselves; a redirect would drop a POST body.
APPEND_SLASH = False

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def database_from_env() -> dict:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
    config = dj_database_url.parse(url)
    if config["ENGINE"] == "django.db.backends.sqlite3":
        # IMMEDIATE takes the write lock at BEGIN, which is what serialises writers on SQLite
        # (select_for_update is a no-op there); WAL lets readers run beside the one writer.
        config["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
            " PRAGMA busy_timeout=20000;",
        }
    elif config["ENGINE"] == "django.db.backends.postgresql":
        # Persistent connections, checked before reuse so a restarted server costs one request
        # nothing more than a reconnect.
        config["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
        config["CONN_HEALTH_CHECKS"] = True
        # An unreachable server fails the request (503) in seconds instead of hanging a worker.
        config["OPTIONS"] = {"connect_timeout": int(os.environ.get("DB_CONNECT_TIMEOUT", "5"))}
        if env_bool("DB_POOL", False):
            # psycopg's pool instead (docs/deployment.md: it pays with threaded workers). Django
            # refuses it beside persistent connections, and turns CONN_HEALTH_CHECKS into the
            # pool's check of a connection before handing it out.
            config["CONN_MAX_AGE"] = 0
            config["OPTIONS"]["pool"] = {
                "min_size": 1,
                "max_size": int(os.environ.get("DB_POOL_MAX_SIZE", "4")),
            }
    return config


DATABASES = {"default": database_from_env()}


def ledger_engine_from_env(database: dict) -> str:
    """Which engine posts money (docs/design.md "Two engines, one ledger"): "sql", the PL/pgSQL
    function of transactions/migrations, on PostgreSQL; "python" (the ORM) on SQLite, or on
    PostgreSQL when LEDGER_ENGINE=python asks for it (the bench compares the two)."""
    on_postgresql = database["ENGINE"] == "django.db.backends.postgresql"
    engine = os.environ.get("LEDGER_ENGINE") or ("sql" if on_postgresql else "python")
    if engine not in {"sql", "python"} or (engine == "sql" and not on_postgresql):
        raise ImproperlyConfigured(
            f"LEDGER_ENGINE={engine!r}: use 'python', or 'sql' (PostgreSQL only)"
        )
    return engine


LEDGER_ENGINE = ledger_engine_from_env(DATABASES["default"])
# The shared cache holds rate-limit counters, so it must be shared by every worker and host:
# Redis when REDIS_URL is set, else a table in the database (never a per-process cache).
if os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["REDIS_URL"],
            # An unreachable Redis must fail a request in a second (503 or fail-open, see
            # security/throttling.py), not hang a worker until gunicorn kills it.
            "OPTIONS": {
                "socket_connect_timeout": float(os.environ.get("REDIS_TIMEOUT", "1")),
                "socket_timeout": float(os.environ.get("REDIS_TIMEOUT", "1")),
            },
        }
    }
else:
    CACHES = {
        "default": {
            # Django's DatabaseCache with a lost-update-free incr (rate-limit counters).
            "BACKEND": "security.cache.AtomicDatabaseCache",
            "LOCATION": "django_cache",
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "users.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Password reset (users/services.py): links die after an hour, or at once when used.
PASSWORD_RESET_TIMEOUT = int(os.environ.get("PASSWORD_RESET_TIMEOUT", "3600"))
# The front end's page that posts uid, token and the new password to .../password/reset/confirm/.
PASSWORD_RESET_URL = os.environ.get("PASSWORD_RESET_URL", "http://localhost:8000/password-reset/")

# Email goes to the console (development) unless an SMTP server is configured.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "10"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "no-reply@atm.example")

# Rate limits (docs/api.md "Rate limits"; security/throttling.py), counted in the shared cache
# above.
RATELIMIT_ENABLE = env_bool("RATELIMIT_ENABLE", True)
RATELIMIT_MONEY_RATE = os.environ.get("RATELIMIT_MONEY_RATE", "120/m")
# Sign-in attempts per username from all addresses together (django-ratelimit syntax).
SIGNIN_USERNAME_CEILING = os.environ.get("SIGNIN_USERNAME_CEILING", "50/h")

# JSON bodies are small; larger ones are refused with 413 (security/middleware.py).
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("DATA_UPLOAD_MAX_MEMORY_SIZE", "65536"))

# Headers on every response; Django's defaults, spelled out because docs/api.md "Headers"
# promises them.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# DJANGO_HTTPS=1 behind TLS: cookies only over HTTPS, HSTS for a year, plain HTTP redirected.
HTTPS = env_bool("DJANGO_HTTPS", False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
# A load balancer probes the health check over plain HTTP; a redirect would fail the probe.
SECURE_REDIRECT_EXEMPT = [r"^healthz/?$"]
SECURE_HSTS_SECONDS = 365 * 24 * 60 * 60 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if HTTPS:
    # The TLS-terminating proxy sets this header and must drop any copy a client sent.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

REST_FRAMEWORK = {
    # simplejwt's, except that a money-moving POST's user is checked by the posting itself when
    # the ledger posts in SQL (atm_project/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "atm_project.authentication.DeferringJWTAuthentication",
    ],
    # Customers only unless a view opts in to ATM sessions (atm_project/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["atm_project.permissions.IsCustomer"],
    "DEFAULT_PARSER_CLASSES": ["atm_project.parsers.StrictJSONParser"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        # So a client that asks for errors as problem documents (Accept) is not refused with 406.
        "atm_project.renderers.ProblemJSONRenderer",
    ],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "atm_project.negotiation.StrictContentNegotiation",
    "DEFAULT_PAGINATION_CLASS": "atm_project.pagination.NewestFirstCursorPagination",
    "DEFAULT_SCHEMA_CLASS": "atm_project.schema.DocumentedAutoSchema",
    "EXCEPTION_HANDLER": "atm_project.exception_handlers.problem_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": None,
}

# A sign-in session (its chain of rotated refresh tokens) ends this many seconds after sign-in,
# however often it is refreshed (users/sessions.py).
SESSION_MAX_AGE = int(os.environ.get("SESSION_MAX_AGE", str(7 * 24 * 60 * 60)))

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=5),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=1),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    # PyJWT is told to accept this one algorithm: "none", HS512 or RS256 tokens are refused.
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    # Tokens carry a hash of the password hash: a password change or reset ends every session
    # at once, access tokens included, not 5 minutes later.
    "CHECK_REVOKE_TOKEN": True,
    # simplejwt's serializers, taking only JSON strings (users/api/serializers.py).
    "TOKEN_OBTAIN_SERIALIZER": "users.api.serializers.TokenSerializer",
    "TOKEN_REFRESH_SERIALIZER": "users.api.serializers.StrictTokenRefreshSerializer",
    "AUTH_HEADER_TYPES": ("Bearer",),
    # A customer's access token, or an ATM session token (card + PIN); never a refresh token.
    "AUTH_TOKEN_CLASSES": (
        "users.tokens.AccessToken",
        "accounts.tokens.ATMAccessToken",
    ),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "ATM backend API",
    "DESCRIPTION": "Retail banking and ATM API over a double-entry ledger. "
    "Errors are RFC 9457 problem details (`application/problem+json`), with one exception: a "
    "request the HTTP server refuses before the API sees it gets gunicorn's short HTML page, "
    "namely 414 URI Too Long for a request line over 4094 bytes and 431 Request Header Fields "
    "Too Large for a header over 8190 bytes or more than 100 headers. A `Host` this server does "
    "not serve is a 400 `validation_error` problem naming `Host`. A JSON body with a field the "
    "operation does not define is a 400 `validation_error` naming each such field. Besides the "
    "problems each operation lists, any route may answer 405 `method_not_allowed` (with an "
    "`Allow` header) for a method it does not take, 406 `not_acceptable` for an `Accept` header "
    "naming neither JSON nor problem+json, and, never expected, 500 `server_error` (logged with "
    "the request id).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One tag per resource (atm_project/schema.py assigns them).
    "TAGS": [
        {"name": "Authentication", "description": "Register, sign in, tokens, passwords."},
        {
            "name": "ATM sessions",
            "description": "Card + PIN sign-in at an ATM, and keeping the session alive.",
        },
        {"name": "Customers", "description": "Your own profile."},
        {"name": "Accounts", "description": "Open, read, close accounts; balances."},
        {"name": "Cards", "description": "Issue a card on an account."},
        {
            "name": "Money movement",
            "description": "Deposits, withdrawals and transfers; each takes an Idempotency-Key.",
        },
        {
            "name": "Holds",
            "description": "Two-phase cash withdrawal: reserve money, then capture what was "
            "paid out or void the hold.",
        },
        {"name": "History", "description": "Transactions, mini-statements and statements."},
        {"name": "Operations", "description": "Health check."},
        {"name": "API root", "description": "Links to the resources."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "AccountKindEnum": ["checking", "savings", "internal"],
        "OpenAccountKindEnum": ["checking", "savings"],
        "TransactionKindEnum": "transactions.models.Transaction.Kind",
        "HoldStatusEnum": "transactions.models.Hold.Status",
        "VoidReasonEnum": "transactions.models.Hold.VoidReason",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "atm_project.schema.add_problem_responses",
    ],
}

# Money rules (docs/api.md "Conventions" and "Money movement").
MAX_TRANSACTION_AMOUNT = Decimal(os.environ.get("MAX_TRANSACTION_AMOUNT", "1000000.00"))
DEFAULT_DAILY_WITHDRAWAL_LIMIT = Decimal(
    os.environ.get("DEFAULT_DAILY_WITHDRAWAL_LIMIT", "1000.00")
)
BANK_TIME_ZONE = os.environ.get("BANK_TIME_ZONE", "UTC")
SUPPORTED_CURRENCIES = env_list("SUPPORTED_CURRENCIES", "USD,EUR,GBP")
# Holds (two-phase cash withdrawal): how long one lives when the request does not say, and the
# range a request may ask for.
HOLD_DEFAULT_SECONDS = int(os.environ.get("HOLD_DEFAULT_SECONDS", "300"))
HOLD_MIN_SECONDS = 30
HOLD_MAX_SECONDS = 86400

# GET /metrics is open to loopback; elsewhere it needs "Authorization: Bearer $METRICS_TOKEN".
METRICS_TOKEN = os.environ.get("METRICS_TOKEN", "")

# LOG_FORMAT=json: one JSON object per line (atm_project/logs.py); every line has the request id.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "plain")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = logging_config(log_format=LOG_FORMAT, level=LOG_LEVEL)
# Python's warnings go through logging too, so a JSON log stays JSON.
logging.captureWarnings(True)

# A claimed Idempotency-Key whose request has not finished after this many seconds is taken to
# belong to a worker that died before committing, and a retry may take it over.
IDEMPOTENCY_CLAIM_TIMEOUT = int(os.environ.get("IDEMPOTENCY_CLAIM_TIMEOUT", "60"))

# Staff sign-in to /admin/ needs a TOTP code after the password (django-otp); 0 only for local
# demos. Failed admin sign-ins per username and IP: ADMIN_SIGNIN_FAILURES in
# ADMIN_SIGNIN_WINDOW seconds lock that pair out for ADMIN_SIGNIN_LOCK seconds.
STAFF_2FA = env_bool("STAFF_2FA", True)
OTP_TOTP_ISSUER = "ATM Bank staff"
ADMIN_SIGNIN_FAILURES = 5
ADMIN_SIGNIN_WINDOW = 15 * 60
ADMIN_SIGNIN_LOCK = 15 * 60

# The web ATM signs out after this many idle seconds (tests shorten it).
ATM_IDLE_TIMEOUT_SECONDS = int(os.environ.get("ATM_IDLE_TIMEOUT_SECONDS", "120"))
# ... and warns this many seconds before, so a customer still there can stay.
ATM_IDLE_WARNING_SECONDS = int(os.environ.get("ATM_IDLE_WARNING_SECONDS", "20"))
# An ATM session is extended on activity (POST /api/v1/auth/card/extend/) up to this many seconds
# after the card sign-in; then the customer signs in again.
ATM_SESSION_MAX_SECONDS = int(os.environ.get("ATM_SESSION_MAX_SECONDS", "600"))
