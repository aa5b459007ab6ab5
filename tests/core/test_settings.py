"""The settings fail closed (issue 13): production is the default; without its secrets or
its host names it refuses to start, naming the variable and how to make one; with the
documented production environment ``manage.py check --deploy`` finds nothing to warn about.

Each case starts its own process (the settings are read once, at start-up) with only the
environment it names: nothing of the test run's own CASEBRIDGE_* variables is inherited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
SETUP = "import django; django.setup()"
HOW_TO_DEVELOP = (
    "(CASEBRIDGE_ENV is production by default; a local run sets CASEBRIDGE_ENV=development)"
)
DEV_KEY = "insecure-local-development-key-change-me-in-production-0123456789"
SECRET_KEY_MISSING = (
    "set CASEBRIDGE_SECRET_KEY to a random secret of at least 50 characters, e.g. "
    "python -c 'import secrets; print(secrets.token_urlsafe(50))' " + HOW_TO_DEVELOP
)
BRIDGE_KEYS_MISSING = (
    "set CASEBRIDGE_BRIDGE_KEYS to a Fernet key, which encrypts the books token at rest: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
    + HOW_TO_DEVELOP
)
DATA_KEYS_MISSING = (
    "set CASEBRIDGE_DATA_KEYS to a Fernet key, which encrypts payee TINs and bank account "
    "numbers at rest: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
    + HOW_TO_DEVELOP
)
ALLOWED_HOSTS_MISSING = (
    "set CASEBRIDGE_ALLOWED_HOSTS to the host names the site is served under, "
    "comma-separated (e.g. casebridge.example-firm.com) " + HOW_TO_DEVELOP
)


def production_env(var_dir: Path, **changes: str | None) -> dict[str, str]:
    """The documented production environment (README, "Running in production"), with
    ``changes`` (None removes a variable). CASEBRIDGE_ENV is not set: production is the
    default."""
    inherited = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CASEBRIDGE_", "DATABASE_URL", "HUEY_", "DJANGO_"))
    }
    env: dict[str, str | None] = {
        **inherited,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CASEBRIDGE_VAR_DIR": str(var_dir),
        "DATABASE_URL": "postgres://casebridge_app:secret@db.internal:5432/casebridge",
        "CASEBRIDGE_SECRET_KEY": "k" + os.urandom(40).hex(),
        "CASEBRIDGE_BRIDGE_KEYS": Fernet.generate_key().decode(),
        "CASEBRIDGE_DATA_KEYS": Fernet.generate_key().decode(),
        "CASEBRIDGE_ALLOWED_HOSTS": "casebridge.example-firm.com",
        "CASEBRIDGE_BEHIND_TLS_PROXY": "1",
        "CASEBRIDGE_CSRF_TRUSTED_ORIGINS": "https://casebridge.example-firm.com",
        "HUEY_REDIS_URL": "redis://redis.internal:6379/0",
        "CASEBRIDGE_CACHE_URL": "redis://redis.internal:6379/1",
        **changes,
    }
    return {k: v for k, v in env.items() if v is not None}


def run(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
        [sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, text=True, check=False
    )


def refusal(proc: subprocess.CompletedProcess[str]) -> str:
    """The message of the ImproperlyConfigured that stopped the process."""
    assert proc.returncode == 1, proc.stdout + proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    prefix = "django.core.exceptions.ImproperlyConfigured: "
    assert last.startswith(prefix), proc.stderr[-2000:]
    return last.removeprefix(prefix)


def test_check_deploy_passes_with_the_documented_production_environment(tmp_path):
    env = production_env(tmp_path)
    proc = run(env, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.strip() == "System check identified no issues (0 silenced)."
    assert "WARNING" not in proc.stderr
    assert proc.stderr == ""


@pytest.mark.parametrize(
    ("variable", "message"),
    [
        ("CASEBRIDGE_SECRET_KEY", SECRET_KEY_MISSING),
        ("CASEBRIDGE_BRIDGE_KEYS", BRIDGE_KEYS_MISSING),
        ("CASEBRIDGE_DATA_KEYS", DATA_KEYS_MISSING),
        ("CASEBRIDGE_ALLOWED_HOSTS", ALLOWED_HOSTS_MISSING),
    ],
)
@pytest.mark.parametrize("how", ["unset", "empty"])
def test_production_refuses_to_start_without_a_required_variable(tmp_path, variable, message, how):
    env = production_env(tmp_path, **{variable: None if how == "unset" else "  "})
    assert refusal(run(env, "-c", SETUP)) == message


def test_production_is_the_default_when_casebridge_env_is_unset_or_empty(tmp_path):
    for value in (None, ""):
        env = production_env(tmp_path, CASEBRIDGE_ENV=value, CASEBRIDGE_SECRET_KEY=None)
        assert refusal(run(env, "-c", SETUP)) == SECRET_KEY_MISSING


def test_development_starts_without_secrets_with_debug_on(tmp_path):
    env = production_env(
        tmp_path,
        CASEBRIDGE_ENV="development",
        CASEBRIDGE_SECRET_KEY=None,
        CASEBRIDGE_BRIDGE_KEYS=None,
        CASEBRIDGE_DATA_KEYS=None,
        CASEBRIDGE_ALLOWED_HOSTS=None,
        CASEBRIDGE_BEHIND_TLS_PROXY=None,
    )
    script = (
        f"{SETUP}; from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, "
        "s.ALLOWED_HOSTS)"
    )
    proc = run(env, "-c", script)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "True False False 0 ['localhost', '127.0.0.1', '[::1]']"


def test_production_settings_are_the_secure_ones(tmp_path):
    script = (
        f"{SETUP}; from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SECURE_PROXY_SSL_HEADER, "
        "s.CSRF_TRUSTED_ORIGINS, s.SESSION_COOKIE_AGE, s.SESSION_IDLE_SECONDS)"
    )
    proc = run(production_env(tmp_path), "-c", script)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == (
        "False True True True 31536000 True ('HTTP_X_FORWARDED_PROTO', 'https') "
        "['https://casebridge.example-firm.com'] 43200 1800"
    )


def test_the_forwarded_protocol_is_trusted_only_when_behind_a_tls_proxy(tmp_path):
    script = f"{SETUP}; from django.conf import settings as s; print(s.SECURE_PROXY_SSL_HEADER)"
    proc = run(production_env(tmp_path, CASEBRIDGE_BEHIND_TLS_PROXY=None), "-c", script)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "None"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"CASEBRIDGE_DEBUG": "1"},
            "CASEBRIDGE_DEBUG=1 is refused in production: DEBUG pages show the settings and "
            "every URL pattern " + HOW_TO_DEVELOP,
        ),
        (
            {"CASEBRIDGE_ENV": "prod"},
            "CASEBRIDGE_ENV must be production or development (it is 'prod')",
        ),
        (
            {"CASEBRIDGE_SECRET_KEY": DEV_KEY},
            "CASEBRIDGE_SECRET_KEY must be a random secret of at least 50 characters (not the "
            "public development key), e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'",
        ),
        (
            {"CASEBRIDGE_SECRET_KEY": "too-short-0123456789"},
            "CASEBRIDGE_SECRET_KEY must be a random secret of at least 50 characters (not the "
            "public development key), e.g. python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'",
        ),
        (
            {"CASEBRIDGE_BRIDGE_KEYS": "not-a-fernet-key"},
            "CASEBRIDGE_BRIDGE_KEYS: key 1 is not a Fernet key (32 url-safe base64-encoded "
            "bytes); make one with python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        ),
        (
            {"CASEBRIDGE_DATA_KEYS": "not-a-fernet-key"},
            "CASEBRIDGE_DATA_KEYS: key 1 is not a Fernet key (32 url-safe base64-encoded "
            "bytes); make one with python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'",
        ),
        (
            {"CASEBRIDGE_BEHIND_TLS_PROXY": "yes"},
            "CASEBRIDGE_BEHIND_TLS_PROXY must be 0 or 1 (it is 'yes')",
        ),
        (
            {"CASEBRIDGE_CSRF_TRUSTED_ORIGINS": "casebridge.example-firm.com"},
            "CASEBRIDGE_CSRF_TRUSTED_ORIGINS: 'casebridge.example-firm.com' must start with "
            "https:// (an origin is scheme://host[:port])",
        ),
        (
            {"CASEBRIDGE_SESSION_IDLE_MINUTES": "0"},
            "CASEBRIDGE_SESSION_IDLE_MINUTES must be a whole number from 1 to 1440 (it is '0')",
        ),
    ],
    ids=[
        "debug",
        "env",
        "dev-key",
        "short-key",
        "bad-fernet",
        "bad-data-key",
        "proxy-flag",
        "origin",
        "idle",
    ],
)
def test_production_refuses_a_wrong_value_naming_it(tmp_path, changes, message):
    assert refusal(run(production_env(tmp_path, **changes), "-c", SETUP)) == message
