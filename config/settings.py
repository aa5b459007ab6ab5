"""Settings for every environment, read from the process environment.

One module on purpose: each knob is an environment variable. **Production is the default**
and fails closed: it refuses to start without its secrets and host names, never runs with
DEBUG, and sends secure cookies, HSTS and a Content-Security-Policy. ``make run``, ``make
test`` and the benches opt in to ``CASEBRIDGE_ENV=development`` (see README, "Running in
production", and the ADR "Settings fail closed").

- ``CASEBRIDGE_ENV``: ``production`` (the default, also when unset or empty) or
  ``development`` (local runs only: DEBUG on unless ``CASEBRIDGE_DEBUG=0``, a built-in
  secret key, plain-HTTP cookies).
- ``CASEBRIDGE_SECRET_KEY``, ``CASEBRIDGE_BRIDGE_KEYS``, ``CASEBRIDGE_DATA_KEYS``,
  ``CASEBRIDGE_ALLOWED_HOSTS``: required in production.
- ``CASEBRIDGE_BEHIND_TLS_PROXY=1``: a proxy terminates TLS and sets ``X-Forwarded-Proto``;
  ``CASEBRIDGE_CSRF_TRUSTED_ORIGINS``: origins (``https://host``) whose forms are accepted
  when the proxy does not pass the browser's host through.
- ``CASEBRIDGE_SESSION_IDLE_MINUTES`` (30), ``CASEBRIDGE_SESSION_MAX_HOURS`` (12).
- ``DATABASE_URL``: defaults to the SQLite file ``var/casebridge.sqlite3``; set
  ``postgres://...`` for PostgreSQL.
- ``HUEY_REDIS_URL``: when set, background tasks go through Redis so workers on several
  machines share one queue; otherwise Huey keeps its queue in ``var/huey.sqlite3``.
  ``CASEBRIDGE_HUEY_NAME`` names the queue (installations sharing one Redis each need
  their own).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from cryptography.fernet import Fernet
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from casebridge.core.logs import logging_config

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CASEBRIDGE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _env_flag(name: str, default: bool) -> bool:
    """A 0/1 switch; anything else refuses to start (a typo must not mean "off")."""
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if value not in ("0", "1"):
        raise ImproperlyConfigured(f"{name} must be 0 or 1 (it is {value!r})")
    return value == "1"


def _env_list(name: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, "").split(",") if item.strip()]


def _env_int(name: str, default: int, *, low: int, high: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    if not (value.isascii() and value.isdigit()) or not low <= int(value) <= high:
        raise ImproperlyConfigured(
            f"{name} must be a whole number from {low} to {high} (it is {value!r})"
        )
    return int(value)


# --- Environment: production unless told otherwise -------------------------------------
CASEBRIDGE_ENV = os.environ.get("CASEBRIDGE_ENV", "").strip() or "production"
if CASEBRIDGE_ENV not in ("production", "development"):
    raise ImproperlyConfigured(
        f"CASEBRIDGE_ENV must be production or development (it is {CASEBRIDGE_ENV!r})"
    )
DEVELOPMENT = CASEBRIDGE_ENV == "development"
PRODUCTION = not DEVELOPMENT
#: In production, what a missing setting's message ends with.
_HOW_TO_DEVELOP = (
    "(CASEBRIDGE_ENV is production by default; a local run sets CASEBRIDGE_ENV=development)"
)

DEBUG = _env_flag("CASEBRIDGE_DEBUG", DEVELOPMENT)
if DEBUG and PRODUCTION:
    raise ImproperlyConfigured(
        "CASEBRIDGE_DEBUG=1 is refused in production: DEBUG pages show the settings and every "
        f"URL pattern {_HOW_TO_DEVELOP}"
    )

_DEV_SECRET_KEY = "insecure-local-development-key-change-me-in-production-0123456789"
if DEVELOPMENT:
    SECRET_KEY = os.environ.get("CASEBRIDGE_SECRET_KEY", "").strip() or _DEV_SECRET_KEY
else:
    SECRET_KEY = os.environ.get("CASEBRIDGE_SECRET_KEY", "").strip()
    if not SECRET_KEY:
        raise ImproperlyConfigured(
            "set CASEBRIDGE_SECRET_KEY to a random secret of at least 50 characters, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))' "
            f"{_HOW_TO_DEVELOP}"
        )
    if SECRET_KEY == _DEV_SECRET_KEY or len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5:
        raise ImproperlyConfigured(
            "CASEBRIDGE_SECRET_KEY must be a random secret of at least 50 characters (not the "
            "public development key), e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'"
        )

ALLOWED_HOSTS = _env_list("CASEBRIDGE_ALLOWED_HOSTS")
if not ALLOWED_HOSTS:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "set CASEBRIDGE_ALLOWED_HOSTS to the host names the site is served under, "
            f"comma-separated (e.g. casebridge.example-firm.com) {_HOW_TO_DEVELOP}"
        )
    ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "ninja",  # the API docs page from its own static files (no CDN: the CSP allows none)
    "huey.contrib.djhuey",
    "casebridge.core",
    "casebridge.web",
    "casebridge.books",
    "casebridge.cases",
    "casebridge.bridge",
]

MIDDLEWARE = [
    # first: every log line of the request carries its id (core.logs)
    "casebridge.core.logs.RequestIdMiddleware",
    "casebridge.web.metrics.RequestMetricsMiddleware",
    # a firm's time zone is activated per request (core/timezones.py); this puts it back
    "casebridge.core.timezones.TimeZoneReset",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files in production (gunicorn)
    "django.contrib.sessions.middleware.SessionMiddleware",
    # a session ends after CASEBRIDGE_SESSION_IDLE_MINUTES without a request, and
    # CASEBRIDGE_SESSION_MAX_HOURS after it began, whatever happens in between
    "casebridge.web.middleware.SessionTimeouts",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "casebridge.books.auth.BooksUserMiddleware",
    "casebridge.cases.auth.CasesTimeZoneMiddleware",
    # a web request never calls the books: the worker does (ADR 0008)
    "casebridge.bridge.middleware.BooksNeverInWebRequest",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.messages.context_processors.messages",
                "casebridge.cases.context_processors.integration_banners",
            ],
            "builtins": [
                "casebridge.web.templatetags.money",
                "casebridge.web.templatetags.row_actions",
                "casebridge.web.templatetags.words",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'casebridge.sqlite3'}",
        conn_max_age=int(os.environ.get("CASEBRIDGE_CONN_MAX_AGE", "0")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend with the functions the triggers call (the digests' row hash)
    DATABASES["default"]["ENGINE"] = "casebridge.core.sqlite_backend"
    # WAL lets the web server and the worker read while one of them writes; IMMEDIATE
    # transactions take the write lock up front so two writers queue instead of deadlocking.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
# Test databases are named per process so that test runs side by side (several checkouts,
# or a developer's run beside CI) never share one. The live-server thread of a run shares
# its process, hence its database.
_test_suffix = os.environ.get("CASEBRIDGE_TEST_DB_SUFFIX", str(os.getpid()))
if DATABASES["default"]["ENGINE"] == "casebridge.core.sqlite_backend":
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{_test_suffix}.sqlite3")}
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_test_suffix}"}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Casebridge has its own user tables per side (the books and the cases side are separate
# products), so django.contrib.auth is not installed; passwords use Django's hashers.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if os.environ.get("CASEBRIDGE_FAST_HASHER") == "1":  # test runs only: hashing is not under test
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# --- Sessions (both sides share one Django session: one sign-out ends both) --------------
#: A session unused this long ends (web.middleware.SessionTimeouts)...
SESSION_IDLE_SECONDS = 60 * _env_int("CASEBRIDGE_SESSION_IDLE_MINUTES", 30, low=1, high=24 * 60)
#: ...and every session ends this long after it began, however busy (the cookie and the
#: stored session expire then too).
SESSION_COOKIE_AGE = 3600 * _env_int("CASEBRIDGE_SESSION_MAX_HOURS", 12, low=1, high=24 * 7)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# --- HTTPS (production) -------------------------------------------------------------------
#: Behind a proxy that terminates TLS (nginx, a load balancer) Django sees plain HTTP; the
#: proxy says what the browser used in X-Forwarded-Proto. Trust it only when told: a server
#: reachable directly would otherwise believe any client's header.
BEHIND_TLS_PROXY = _env_flag("CASEBRIDGE_BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
#: Origins whose form posts are accepted besides the site's own (https://host[:port]); only
#: needed when the proxy does not pass the browser's Host header through.
CSRF_TRUSTED_ORIGINS = _env_list("CASEBRIDGE_CSRF_TRUSTED_ORIGINS")
for _origin in CSRF_TRUSTED_ORIGINS:
    if not _origin.startswith(("https://", "http://")):
        raise ImproperlyConfigured(
            f"CASEBRIDGE_CSRF_TRUSTED_ORIGINS: {_origin!r} must start with https:// "
            "(an origin is scheme://host[:port])"
        )
SESSION_COOKIE_SECURE = PRODUCTION
CSRF_COOKIE_SECURE = PRODUCTION
SECURE_SSL_REDIRECT = PRODUCTION
#: Probes and the scraper may call over plain HTTP from inside the network (docs/operations.md).
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
#: HSTS: browsers use HTTPS only for this host for a year (0 turns it off, e.g. while
#: trying HTTPS out); subdomains included; preload only marks the header as eligible.
SECURE_HSTS_SECONDS = (
    _env_int("CASEBRIDGE_HSTS_SECONDS", 31_536_000, low=0, high=63_072_000) if PRODUCTION else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = PRODUCTION
SECURE_HSTS_PRELOAD = PRODUCTION
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Content-Security-Policy (django-csp) ---------------------------------------------------
#: Only the site's own scripts, styles, images and connections: no inline script, style or
#: event handler anywhere (the screens keep their scripts in static files, htmx's indicator
#: style is in casebridge.css); data: images for the favicon. No frames, no plugins.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [NONE],
        "object-src": [NONE],
    }
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("CASEBRIDGE_TIME_ZONE", "America/Los_Angeles")
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

# --- Cache ------------------------------------------------------------------------------
# Sign-in throttles and API rate limits count in the cache, so every web process must share
# it: the database by default (its table is made by core migration 0003), Redis when
# ``CASEBRIDGE_CACHE_URL`` (redis://...) is set.
_cache_url = os.environ.get("CASEBRIDGE_CACHE_URL", "").strip()
CACHES: dict[str, dict[str, object]]
if _cache_url:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": _cache_url,
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "casebridge_cache",
            # Django's default of 300 rows would let a stranger's guesses at many usernames
            # (a row each) cull the sign-in throttle's other counters and known addresses.
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

# --- Mail: password reset links (issue 13) ----------------------------------------------
#: ``CASEBRIDGE_EMAIL_BACKEND`` picks Django's mail backend: the console in development
#: (``make run`` prints the mail), SMTP when ``CASEBRIDGE_EMAIL_HOST`` is set, else none
#: (the dummy backend: reset by email is not offered; an administrator resets passwords).
EMAIL_HOST = os.environ.get("CASEBRIDGE_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("CASEBRIDGE_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("CASEBRIDGE_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("CASEBRIDGE_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = os.environ.get("CASEBRIDGE_EMAIL_TLS", "1") == "1"
DEFAULT_FROM_EMAIL = os.environ.get("CASEBRIDGE_EMAIL_FROM", "casebridge@localhost")
#: Seconds an SMTP connection may wait on the mail server (Django's default: forever). A
#: deadline reminder claimed for sending longer ago than the cases side's SEND_TIMEOUT
#: (minutes) is then known to have been cut off, not still on its way (issue 16's lows).
EMAIL_TIMEOUT = 30
EMAIL_BACKEND = os.environ.get("CASEBRIDGE_EMAIL_BACKEND", "").strip() or (
    "django.core.mail.backends.console.EmailBackend"
    if DEVELOPMENT
    else "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.dummy.EmailBackend"
)

# --- API rate limits (issue 13) --------------------------------------------------------
#: Requests a minute (a fixed 60-second window, counted in the cache above) on each of the
#: three APIs: per token when authenticated (a token's own ``rate_limit_per_minute``
#: overrides these), per client address otherwise. The books' integration user's token
#: gets a ceiling the bridge never reaches (its worker sends one request at a time; the
#: fastest, ~13 ms each, make under 5,000 a minute on the benchmarks' machine).


def _per_minute(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of requests a minute, at least 1 (it is {raw!r})"
        )
    return int(raw)


API_RATE_LIMIT = _per_minute("CASEBRIDGE_API_RATE_LIMIT", 600)
API_RATE_LIMIT_INTEGRATION = _per_minute("CASEBRIDGE_API_RATE_LIMIT_INTEGRATION", 12000)
API_RATE_LIMIT_ANONYMOUS = _per_minute("CASEBRIDGE_API_RATE_LIMIT_ANONYMOUS", 120)

# --- Task engine (ADR 0002) -------------------------------------------------------------
# With ``HUEY_REDIS_URL`` every web process and worker on every machine shares one queue in
# Redis (the web processes enqueue, the workers take): all of them need the same URL, the same
# ``CASEBRIDGE_HUEY_NAME`` and the same ``CASEBRIDGE_TIME_ZONE`` (Huey stores a delayed task's
# due time on the process's local clock). ``CASEBRIDGE_HUEY_NAME`` (default "casebridge")
# names the queue's keys: installations sharing one Redis database (staging and production)
# each need their own, or their workers take each other's tasks. Each periodic job runs once
# per period however many workers schedule it (casebridge.core.periodic).
_huey_redis = os.environ.get("HUEY_REDIS_URL", "").strip()
_huey_name = os.environ.get("CASEBRIDGE_HUEY_NAME", "").strip() or "casebridge"
if not (_huey_name.isascii() and _huey_name.replace("_", "").isalnum()):
    # Huey drops any other character from a Redis key: "a-b" would share "ab"'s queue
    raise ImproperlyConfigured(
        f"CASEBRIDGE_HUEY_NAME may hold only letters, digits and _ (it is {_huey_name!r})"
    )
HUEY = {
    "name": _huey_name,
    # No caller reads a task's return value (outcomes go to audit events and logs); a kept
    # result would stay in the queue's store until read, that is for ever.
    "results": False,
    "immediate": os.environ.get("CASEBRIDGE_HUEY_IMMEDIATE", "0") == "1",
    "consumer": {
        "workers": int(os.environ.get("CASEBRIDGE_WORKERS", "2")),
        "worker_type": "thread",
    },
}
if _huey_redis:
    HUEY.update({"huey_class": "huey.RedisHuey", "url": _huey_redis})
else:
    HUEY.update({"huey_class": "huey.SqliteHuey", "filename": str(VAR_DIR / "huey.sqlite3")})

# --- Dates (ADR 0007) -------------------------------------------------------------------
#: How many days after today a document (a receipt, a check, an invoice, a cost, a
#: deposit) may be dated; 0 (the default): not after today. Manual journal entries may be
#: dated up to 366 days ahead whatever this says (accruals).
#: At most ten years: a window that ends further out guards nothing.
_max_days_ahead = os.environ.get("CASEBRIDGE_MAX_DAYS_AHEAD", "").strip() or "0"
if not (_max_days_ahead.isascii() and _max_days_ahead.isdigit()) or int(_max_days_ahead) > 3650:
    raise ImproperlyConfigured(
        "CASEBRIDGE_MAX_DAYS_AHEAD must be a whole number of days from 0 to 3650 (it is "
        f"{os.environ.get('CASEBRIDGE_MAX_DAYS_AHEAD')!r})"
    )
CASEBRIDGE_MAX_DAYS_AHEAD = int(_max_days_ahead)

# --- Books ------------------------------------------------------------------------------
BOOKS_TOKEN_LIFETIME_DAYS = 30

# --- Sign-in throttling (issue 13, ADR 0017; casebridge.core.throttle) ---------------------
# Both sides, screens and APIs. Failures are counted in the shared cache per account (firm
# ID + username), per client address and per (account, address) pair. After the free
# failures the next attempt waits SIGNIN_BACKOFF_SECONDS, doubled for each further failure up
# to the cap (429 + Retry-After); never a lock: a pair that signed in within
# SIGNIN_KNOWN_ADDRESS_DAYS is held back only by its own failures.


def _whole_number(name: str, default: int, *, least: int = 1) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit()) or int(raw) < least:
        raise ImproperlyConfigured(
            f"{name} must be a whole number of at least {least} (it is {raw!r})"
        )
    return int(raw)


#: Failures of one account (from addresses it has not signed in from) before backing off.
SIGNIN_ACCOUNT_FREE_FAILURES = _whole_number("CASEBRIDGE_SIGNIN_ACCOUNT_FREE_FAILURES", 5)
#: Failures from one address (an IPv6 /64), whatever the accounts, before backing off: one
#: password tried across many usernames.
SIGNIN_ADDRESS_FREE_FAILURES = _whole_number("CASEBRIDGE_SIGNIN_ADDRESS_FREE_FAILURES", 20)
#: The first wait, in seconds; doubled per further failure, at most the cap.
SIGNIN_BACKOFF_SECONDS = _whole_number("CASEBRIDGE_SIGNIN_BACKOFF_SECONDS", 30)
SIGNIN_BACKOFF_CAP_SECONDS = _whole_number("CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS", 900)
#: Failures are forgotten this long after the last one.
SIGNIN_FORGET_SECONDS = _whole_number("CASEBRIDGE_SIGNIN_FORGET_SECONDS", 86400)
#: A successful sign-in makes its (account, address) pair known for this long: more than
#: the books token's 30 days, so the bridge's monthly re-authentication comes from a known
#: address.
SIGNIN_KNOWN_ADDRESS_DAYS = _whole_number("CASEBRIDGE_SIGNIN_KNOWN_ADDRESS_DAYS", 60)
if SIGNIN_BACKOFF_CAP_SECONDS < SIGNIN_BACKOFF_SECONDS:
    raise ImproperlyConfigured(
        f"CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS ({SIGNIN_BACKOFF_CAP_SECONDS}) must be at least "
        f"CASEBRIDGE_SIGNIN_BACKOFF_SECONDS ({SIGNIN_BACKOFF_SECONDS})"
    )
if SIGNIN_FORGET_SECONDS < SIGNIN_BACKOFF_CAP_SECONDS:
    raise ImproperlyConfigured(
        f"CASEBRIDGE_SIGNIN_FORGET_SECONDS ({SIGNIN_FORGET_SECONDS}) must be at least "
        f"CASEBRIDGE_SIGNIN_BACKOFF_CAP_SECONDS ({SIGNIN_BACKOFF_CAP_SECONDS}): failures "
        "forgotten sooner than the wait they caused would let every wait be skipped"
    )


def _trusted_proxies(raw: str) -> int | list[str]:
    """``CASEBRIDGE_TRUSTED_PROXIES``: empty or 0 (the default) trusts no X-Forwarded-For;
    a number N: N reverse proxies in front, each appending to it; else a comma-separated
    list of the proxies' addresses or networks (10.0.0.0/8)."""
    raw = raw.strip()
    if not raw:
        return 0
    if raw.isascii() and raw.isdigit():
        return int(raw)
    networks = [part.strip() for part in raw.split(",") if part.strip()]
    for network in networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"CASEBRIDGE_TRUSTED_PROXIES: {network!r} is neither a number of proxies nor "
                "an address or network (such as 10.0.0.0/8)"
            ) from None
    return networks


#: Whose X-Forwarded-For to believe for the client's address (throttles, audit trail).
CASEBRIDGE_TRUSTED_PROXIES = _trusted_proxies(os.environ.get("CASEBRIDGE_TRUSTED_PROXIES", ""))

# --- The bridge (issue 4, ADR 0005) --------------------------------------------------------
#: Fernet keys for the books token at rest, comma-separated; the first encrypts.
BRIDGE_TOKEN_KEYS = _env_list("CASEBRIDGE_BRIDGE_KEYS")
_HOW_TO_MAKE_A_FERNET_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)
if PRODUCTION and not BRIDGE_TOKEN_KEYS:
    raise ImproperlyConfigured(
        "set CASEBRIDGE_BRIDGE_KEYS to a Fernet key, which encrypts the books token at rest: "
        f"{_HOW_TO_MAKE_A_FERNET_KEY} {_HOW_TO_DEVELOP}"
    )
for _position, _key in enumerate(BRIDGE_TOKEN_KEYS, start=1):
    try:
        Fernet(_key.strip().encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"CASEBRIDGE_BRIDGE_KEYS: key {_position} is not a Fernet key (32 url-safe "
            f"base64-encoded bytes); make one with {_HOW_TO_MAKE_A_FERNET_KEY}"
        ) from None
#: Fernet keys for what the books keep encrypted at rest (payee TINs and bank account
#: numbers, ``casebridge.books.crypto``), comma-separated; the first encrypts.
BOOKS_DATA_KEYS = _env_list("CASEBRIDGE_DATA_KEYS")
if PRODUCTION and not BOOKS_DATA_KEYS:
    raise ImproperlyConfigured(
        "set CASEBRIDGE_DATA_KEYS to a Fernet key, which encrypts payee TINs and bank account "
        f"numbers at rest: {_HOW_TO_MAKE_A_FERNET_KEY} {_HOW_TO_DEVELOP}"
    )
for _position, _key in enumerate(BOOKS_DATA_KEYS, start=1):
    try:
        Fernet(_key.strip().encode())
    except ValueError:
        raise ImproperlyConfigured(
            f"CASEBRIDGE_DATA_KEYS: key {_position} is not a Fernet key (32 url-safe "
            f"base64-encoded bytes); make one with {_HOW_TO_MAKE_A_FERNET_KEY}"
        ) from None
#: Delivery: attempts before an item is parked as failed, and the backoff's base and cap.
BRIDGE_MAX_ATTEMPTS = int(os.environ.get("CASEBRIDGE_BRIDGE_MAX_ATTEMPTS", "8"))
BRIDGE_RETRY_BASE_SECONDS = float(os.environ.get("CASEBRIDGE_BRIDGE_RETRY_BASE", "5"))
BRIDGE_RETRY_CAP_SECONDS = float(os.environ.get("CASEBRIDGE_BRIDGE_RETRY_CAP", "3600"))
#: Items per request to the books (their batch limit is 1000).
BRIDGE_BATCH_SIZE = int(os.environ.get("CASEBRIDGE_BRIDGE_BATCH", "500"))
#: Seconds the worker waits for the books to answer (each read; the whole answer gets this
#: plus the connect timeout). Web requests never call the books (ADR 0008), and this stays
#: well below gunicorn's 30 s worker timeout, which bounds the books' own answer when the
#: same gunicorn serves them.
BRIDGE_HTTP_TIMEOUT = float(os.environ.get("CASEBRIDGE_BRIDGE_TIMEOUT", "15"))
#: Seconds the worker waits for a connection to the books (and for their name to resolve).
BRIDGE_CONNECT_TIMEOUT = float(os.environ.get("CASEBRIDGE_BRIDGE_CONNECT_TIMEOUT", "3"))
#: How long a worker owns a claimed item before another may take it over. Renewed before
#: every request to the books, so it must outlast one request with room to spare: a
#: shorter lease could let a second worker send while the first still waits for an answer.
#: A dead worker's items are taken over a second after it runs out (the watchdog, ADR 0008).
BRIDGE_LEASE_SECONDS = int(os.environ.get("CASEBRIDGE_BRIDGE_LEASE", "60"))
if BRIDGE_LEASE_SECONDS < 2 * BRIDGE_HTTP_TIMEOUT:
    raise ImproperlyConfigured(
        f"CASEBRIDGE_BRIDGE_LEASE ({BRIDGE_LEASE_SECONDS} s) must be at least twice "
        f"CASEBRIDGE_BRIDGE_TIMEOUT ({BRIDGE_HTTP_TIMEOUT:g} s): a worker waiting for the "
        "books could otherwise lose its items to another while its request is in flight"
    )
#: Warn administrators this many days before the books token lapses.
BRIDGE_REAUTH_WARNING_DAYS = 7
#: What the screens show from the books is what the worker last read (ADR 0008): it reads
#: the readiness checks, bank accounts, activity codes and users again this often...
BRIDGE_REFRESH_SECONDS = int(os.environ.get("CASEBRIDGE_BRIDGE_REFRESH", "600"))
#: ...and a page showing a file's trust balance read longer ago than this asks for a new read.
BRIDGE_TRUST_REFRESH_SECONDS = int(os.environ.get("CASEBRIDGE_BRIDGE_TRUST_REFRESH", "300"))
#: A sign-in the worker has not taken this long after it was asked for is dropped, and the
#: password it carried (encrypted) erased.
BRIDGE_SIGN_IN_EXPIRY_SECONDS = 600

# --- Where the server may send requests: the books allow-list (issue 13) -------------------
#: Books hosts the server may reach, comma-separated: ``host`` (that name on any port, public
#: addresses only) or ``host:port`` (``[v6]:port``; exactly that, private addresses too).
#: A firm administrator adds exact host:port pairs for the firm on the Integrations screen.
BRIDGE_BOOKS_ALLOWED_HOSTS = os.environ.get("CASEBRIDGE_BOOKS_ALLOWED_HOSTS", "")
#: host:port pairs (also allowed above or confirmed) the books may be reached at over plain
#: http; everything else needs https, but for loopback.
BRIDGE_BOOKS_HTTP_HOSTS = os.environ.get("CASEBRIDGE_BOOKS_HTTP_HOSTS", "")
#: The books on this very machine (127.0.0.0/8, ::1): the one-machine set-up (`make run`,
#: the benches, the tests). Always allowed in DEBUG; otherwise only when set to 1.
BRIDGE_ALLOW_LOOPBACK_BOOKS = os.environ.get("CASEBRIDGE_ALLOW_LOOPBACK_BOOKS", "0") == "1"

# --- Operations: /metrics (casebridge.web.metrics) ----------------------------------------
#: A scraper bearing this token (Authorization: Bearer ...) may read /metrics...
METRICS_TOKEN = os.environ.get("CASEBRIDGE_METRICS_TOKEN", "").strip()
#: ...and so may these addresses or networks (comma-separated, e.g. 10.0.0.0/8). With
#: neither set, /metrics is 404 (with DEBUG: loopback only).
METRICS_ALLOW = [
    a.strip() for a in os.environ.get("CASEBRIDGE_METRICS_ALLOW", "").split(",") if a.strip()
]
try:
    for _address in METRICS_ALLOW:
        ipaddress.ip_network(_address, strict=False)
except ValueError as _exc:
    raise ImproperlyConfigured(f"CASEBRIDGE_METRICS_ALLOW: {_exc}") from None

# --- Logs ---------------------------------------------------------------------------------
# Every record carries the request id (core.logs); CASEBRIDGE_LOG_FORMAT picks JSON lines
# (for a log collector: the default in production) or plain lines (for a terminal: the
# default in development).
_log_format = os.environ.get("CASEBRIDGE_LOG_FORMAT", "").strip().lower() or (
    "plain" if DEVELOPMENT else "json"
)
if _log_format not in ("json", "plain"):
    raise ImproperlyConfigured(
        "CASEBRIDGE_LOG_FORMAT must be json or plain "
        f"(it is {os.environ.get('CASEBRIDGE_LOG_FORMAT')!r})"
    )
LOGGING = logging_config(
    log_format=_log_format, level=os.environ.get("CASEBRIDGE_LOG_LEVEL", "INFO")
)
