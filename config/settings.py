"""Settings for every environment, read from the process environment.

One module on purpose: each knob is an environment variable with a safe local default, so
`make run` needs nothing set and production sets what it needs (see README, "Running in
production").

- ``DATABASE_URL``: defaults to the SQLite file ``var/casebridge.sqlite3``; set
  ``postgres://...`` for PostgreSQL.
- ``HUEY_REDIS_URL``: when set, background tasks go through Redis so workers on several
  machines share one queue; otherwise Huey keeps its queue in ``var/huey.sqlite3``.
- ``CASEBRIDGE_SECRET_KEY``, ``CASEBRIDGE_DEBUG``, ``CASEBRIDGE_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("CASEBRIDGE_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = os.environ.get("CASEBRIDGE_DEBUG", "1") == "1"
_DEV_SECRET_KEY = "insecure-local-development-key-change-me-in-production-0123456789"
SECRET_KEY = os.environ.get("CASEBRIDGE_SECRET_KEY", _DEV_SECRET_KEY)
if not DEBUG and SECRET_KEY == _DEV_SECRET_KEY:
    raise ImproperlyConfigured("set CASEBRIDGE_SECRET_KEY: the built-in key is public")
ALLOWED_HOSTS = os.environ.get("CASEBRIDGE_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")

INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "huey.contrib.djhuey",
    "casebridge.core",
    "casebridge.web",
    "casebridge.books",
    "casebridge.cases",
    "casebridge.bridge",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files in production (gunicorn)
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "casebridge.books.auth.BooksUserMiddleware",
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
            "builtins": ["casebridge.web.templatetags.money"],
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
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
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

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG

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
        }
    }

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
_huey_redis = os.environ.get("HUEY_REDIS_URL")
HUEY = {
    "name": "casebridge",
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
BOOKS_LOGIN_THROTTLE_ATTEMPTS = int(os.environ.get("BOOKS_LOGIN_THROTTLE_ATTEMPTS", "5"))
BOOKS_LOGIN_THROTTLE_WINDOW_SECONDS = int(os.environ.get("BOOKS_LOGIN_THROTTLE_WINDOW", "900"))

# --- The bridge (issue 4, ADR 0005) --------------------------------------------------------
#: Fernet keys for the books token at rest, comma-separated; the first encrypts.
BRIDGE_TOKEN_KEYS = [
    k for k in os.environ.get("CASEBRIDGE_BRIDGE_KEYS", "").split(",") if k.strip()
]
if not DEBUG and not BRIDGE_TOKEN_KEYS:
    raise ImproperlyConfigured(
        "set CASEBRIDGE_BRIDGE_KEYS (a Fernet key: python -c 'from cryptography.fernet import "
        "Fernet; print(Fernet.generate_key().decode())') to encrypt the books token at rest"
    )
#: Delivery: attempts before an item is parked as failed, and the backoff's base and cap.
BRIDGE_MAX_ATTEMPTS = int(os.environ.get("CASEBRIDGE_BRIDGE_MAX_ATTEMPTS", "8"))
BRIDGE_RETRY_BASE_SECONDS = float(os.environ.get("CASEBRIDGE_BRIDGE_RETRY_BASE", "5"))
BRIDGE_RETRY_CAP_SECONDS = float(os.environ.get("CASEBRIDGE_BRIDGE_RETRY_CAP", "3600"))
#: Items per request to the books (their batch limit is 1000).
BRIDGE_BATCH_SIZE = int(os.environ.get("CASEBRIDGE_BRIDGE_BATCH", "500"))
#: Seconds the worker waits for the books (web requests never call the books: ADR 0008).
BRIDGE_HTTP_TIMEOUT = float(os.environ.get("CASEBRIDGE_BRIDGE_TIMEOUT", "30"))
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

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("CASEBRIDGE_LOG_LEVEL", "INFO")},
    # one line per HTTP request to the books is noise; the bridge logs what it delivered
    "loggers": {"httpx": {"level": "WARNING"}, "httpcore": {"level": "WARNING"}},
}
