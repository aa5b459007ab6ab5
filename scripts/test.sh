#!/usr/bin/env bash
# `make test`: lint, types, import rules, migrations check, then the whole suite on SQLite
# and on PostgreSQL, browser tests included. On a laptop without PostgreSQL or Chromium the
# missing part is skipped with a note; with CASEBRIDGE_REQUIRE_POSTGRES=1 /
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
  echo "==> tests on PostgreSQL ($PG_URL)"
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
