#!/usr/bin/env bash
# Create .venv and install the pinned dependencies ("app" or "dev"), only when they changed.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-app}
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if ! "$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)'; then
  echo "Casebridge needs Python 3.11 (found $("$PYTHON" --version 2>&1)); set PYTHON=/path/to/python3.11" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "==> creating .venv"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$kind
want=$(cat requirements/app.txt requirements/"$kind".txt pyproject.toml | sha256sum | cut -c1-16)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "==> installing $kind dependencies into .venv"
  # (this machine's pip.conf may name local mirrors that do not exist; drop those warnings)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/"$kind".txt \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps -e . \
    2> >(grep -v "^WARNING: Location .* is ignored" >&2)
  echo "$want" > "$stamp"
fi
