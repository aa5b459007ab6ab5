#!/usr/bin/env bash
# `make run`: install, migrate, load the demo firm, start the worker and the web server.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh app
# A local run: DEBUG, the built-in secret key, plain-HTTP cookies. Production is the
# default (README, "Running in production"), so this is said explicitly.
export DJANGO_SETTINGS_MODULE=config.settings CASEBRIDGE_ENV=development
# the books are served on this machine: the bridge may reach them on loopback (issue 13)
export CASEBRIDGE_ALLOW_LOOPBACK_BOOKS=${CASEBRIDGE_ALLOW_LOOPBACK_BOOKS:-1}
PORT=${PORT:-8000}
HOST=${HOST:-127.0.0.1}
.venv/bin/python manage.py migrate --no-input -v0
.venv/bin/python manage.py demo_load
.venv/bin/python manage.py cases_demo_load
DEMO_TOTP_KEY=$(PYTHONPATH=src .venv/bin/python -c 'from casebridge.core.twofactor import DEMO_TOTP_KEY; print(DEMO_TOTP_KEY)')
.venv/bin/python manage.py run_huey --quiet > var/worker.log 2>&1 &
worker=$!
trap 'kill $worker 2>/dev/null || true' EXIT INT TERM
cat <<MSG

  Casebridge is running:
    Cases (case management):   http://$HOST:$PORT/cases/
    Books (legal accounting):  http://$HOST:$PORT/books/
    API docs:                  http://$HOST:$PORT/cases/api/v1/docs and /books/api/v1/docs
    Background worker:         pid $worker (log: var/worker.log)

  Demo logins: firm ID "demo", password "demo-password-1" on both sides.
    Cases:  admin@demo.test        firm administrator
            sam@demo.test          attorney (costs management, deposits)
            paralegal@demo.test    costs management, no deposit permission
    Books:  admin@demo.test        firm administrator
            accountant@demo.test   accountant
            sam@demo.test          attorney (Records Time off: turn it on under Users)
            integration@demo.test  integration user (enrolls a security question at first login)

  Two-factor sign-in: every demo person above but the integration user types a 6-digit code
    after the password. They share the demo secret $DEMO_TOTP_KEY
    (add it to an authenticator app, or compute the current code with:
    .venv/bin/python -c 'import pyotp; print(pyotp.TOTP("$DEMO_TOTP_KEY").now())')
  Mail (password reset links) prints here, on the console.

  Connect them (the seed): Cases -> Account Settings -> Integrations -> Books -> Activate,
    books address http://$HOST:$PORT/books/api/v1, firm ID demo, integration@demo.test.

  Press Ctrl-C to stop.
MSG
exec_status=0
.venv/bin/python manage.py runserver "$HOST:$PORT" --noreload || exec_status=$?
exit $exec_status
