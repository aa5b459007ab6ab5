#!/usr/bin/env bash
# Debian packages the tests use: chromium (Playwright drives it; it never downloads a
# browser of its own), poppler-utils (pdftotext reads the settlement statement PDF) and
# redis-server (two workers share one Redis queue; scripts/test.sh starts one if none runs).
# Needs root and apt; says why not otherwise.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "note: cannot install ${missing[*]} here (needs root and apt-get); the tests that need them will be skipped" >&2
  exit 1
fi
echo "==> installing Debian packages for the tests: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
