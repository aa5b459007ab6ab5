#!/usr/bin/env bash
# `make test`: lint, types, import rules, migrations check, then the whole suite on SQLite
# and on PostgreSQL (with Redis for the test of two workers on one queue), browser tests
# included. On a laptop without PostgreSQL, Redis or Chromium the missing part is skipped
# with a note; with CASEBRIDGE_REQUIRE_POSTGRES=1 /
# CASEBRIDGE_REQUIRE_BROWSER=1 (as .ci/run sets) a missing part is a failure instead.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
# Tests run in development (production is the default and needs its secrets); the tests
# of the production settings start their own processes with a production environment.
# tests/development_env.py (loaded by pytest, see pyproject.toml) sets the same for a bare
# `pytest`; it is found through PYTHONPATH.
export DJANGO_SETTINGS_MODULE=config.settings CASEBRIDGE_FAST_HASHER=1 CASEBRIDGE_ENV=development
export PYTHONPATH=".:src${PYTHONPATH:+:$PYTHONPATH}"
# pytest-xdist workers (each gets its own test database); 0 runs in one process
WORKERS=${CASEBRIDGE_TEST_WORKERS:-2}
skipped=()

# --- Chromium for the browser tests ---------------------------------------------------
CHROMIUM=${CASEBRIDGE_CHROMIUM:-/usr/bin/chromium}
scripts/install-test-packages.sh || true
sqlite_marks="not postgres_only"   # the PostgreSQL-only safeguards run in the PostgreSQL pass
pg_args=()
if [ -x "$CHROMIUM" ]; then
  export CASEBRIDGE_CHROMIUM="$CHROMIUM"
else
  if [ "${CASEBRIDGE_REQUIRE_BROWSER:-0}" = 1 ]; then
    echo "FAIL: Chromium is required (CASEBRIDGE_REQUIRE_BROWSER=1) but $CHROMIUM is missing" >&2
    exit 1
  fi
  sqlite_marks="not browser and not postgres_only"
  pg_args=(-m "not browser")
  skipped+=("browser tests: no Chromium at $CHROMIUM (as root: apt-get install chromium, or set CASEBRIDGE_CHROMIUM)")
fi
if ! command -v pdftotext >/dev/null 2>&1; then
  if [ "${CASEBRIDGE_REQUIRE_BROWSER:-0}" = 1 ]; then
    echo "FAIL: pdftotext (poppler-utils) is required in CI but missing" >&2
    exit 1
  fi
  skipped+=("reading the statement PDF's text: no pdftotext (as root: apt-get install poppler-utils)")
fi

echo "==> ruff";          .venv/bin/ruff check .
echo "==> mypy";          .venv/bin/mypy src config
echo "==> import rules";  .venv/bin/lint-imports --no-cache
echo "==> migrations";    CASEBRIDGE_VAR_DIR=$(mktemp -d) .venv/bin/python manage.py makemigrations --check --dry-run

echo "==> tests on SQLite (PostgreSQL-only safeguards run in the PostgreSQL pass)"
CASEBRIDGE_VAR_DIR=$(mktemp -d) DATABASE_URL= .venv/bin/pytest -p no:cacheprovider -n "$WORKERS" \
  -m "$sqlite_marks" "$@"

PG_URL=${CASEBRIDGE_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/casebridge}
if .venv/bin/python - "$PG_URL" <<'PY'
import sys, urllib.parse, psycopg
url = urllib.parse.urlsplit(sys.argv[1])._replace(path="/postgres")  # the server, not the db
try:
    psycopg.connect(urllib.parse.urlunsplit(url), connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable at {sys.argv[1]}: {exc}", file=sys.stderr)
    sys.exit(1)
PY
then
  # --- Redis for the test of two workers sharing one queue (tests/bridge/test_many_workers.py):
  # the one at CASEBRIDGE_TEST_REDIS_URL (default the local server) when it answers, else one
  # started here on a free loopback port, in memory only, stopped at the end.
  REDIS_URL=${CASEBRIDGE_TEST_REDIS_URL:-redis://127.0.0.1:6379/0}
  redis_answers() {
    .venv/bin/python -c 'import redis, sys; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()' \
      "$1" >/dev/null 2>&1
  }
  if ! redis_answers "$REDIS_URL" && command -v redis-server >/dev/null 2>&1; then
    redis_port=$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis_dir=$(mktemp -d)
    redis-server --bind 127.0.0.1 --port "$redis_port" --save "" --appendonly no \
      --dir "$redis_dir" > "$redis_dir/redis.log" 2>&1 &
    redis_pid=$!
    trap 'kill "$redis_pid" 2>/dev/null || true' EXIT
    REDIS_URL=redis://127.0.0.1:$redis_port/0
    for _ in $(seq 50); do redis_answers "$REDIS_URL" && break; sleep 0.2; done
  fi
  if redis_answers "$REDIS_URL"; then
    export CASEBRIDGE_TEST_REDIS_URL=$REDIS_URL
  else
    if [ "${CASEBRIDGE_REQUIRE_POSTGRES:-0}" = 1 ]; then
      echo "FAIL: Redis is required (CASEBRIDGE_REQUIRE_POSTGRES=1) but none answers at $REDIS_URL and none could be started (apt-get install redis-server)" >&2
      exit 1
    fi
    export CASEBRIDGE_TEST_REDIS_URL=
    skipped+=("two workers on one Redis queue: no Redis at $REDIS_URL and no redis-server to start (as root: apt-get install redis-server)")
  fi
  echo "==> tests on PostgreSQL ($PG_URL; Redis ${CASEBRIDGE_TEST_REDIS_URL:-none})"
  CASEBRIDGE_VAR_DIR=$(mktemp -d) DATABASE_URL=$PG_URL .venv/bin/pytest -p no:cacheprovider -n "$WORKERS" \
    ${pg_args[@]+"${pg_args[@]}"} "$@"
else
  if [ "${CASEBRIDGE_REQUIRE_POSTGRES:-0}" = 1 ]; then
    echo "FAIL: PostgreSQL is required (CASEBRIDGE_REQUIRE_POSTGRES=1) but not reachable" >&2
    exit 1
  fi
  skipped+=("PostgreSQL run: no server at $PG_URL (start one, or set CASEBRIDGE_TEST_POSTGRES_URL)")
fi

if [ ${#skipped[@]} -gt 0 ]; then
  echo
  echo "SKIPPED (the rest passed):"
  for s in "${skipped[@]}"; do echo "  - $s"; done
fi
