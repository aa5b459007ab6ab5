"""The background queue's settings (config/settings.py, "Task engine"): with
``HUEY_REDIS_URL`` the queue is in Redis, under ``CASEBRIDGE_HUEY_NAME`` (installations
sharing one Redis keep apart by it); without, a SQLite file. Read in a fresh process, as a
worker reads them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _settings(**env: str) -> subprocess.CompletedProcess[str]:
    base = {
        k: v for k, v in os.environ.items() if k not in ("HUEY_REDIS_URL", "CASEBRIDGE_HUEY_NAME")
    }
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, config.settings as s; "
            "keys = ('name', 'huey_class', 'url'); "
            "print(json.dumps({k: s.HUEY.get(k) for k in keys}))",
        ],
        cwd=ROOT,
        env={**base, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {},
            {"name": "casebridge", "huey_class": "huey.SqliteHuey", "url": None},
        ),
        (
            {"HUEY_REDIS_URL": "redis://redis:6379/0"},
            {
                "name": "casebridge",
                "huey_class": "huey.RedisHuey",
                "url": "redis://redis:6379/0",
            },
        ),
        (
            {"HUEY_REDIS_URL": "redis://redis:6379/0", "CASEBRIDGE_HUEY_NAME": "staging_2"},
            {
                "name": "staging_2",
                "huey_class": "huey.RedisHuey",
                "url": "redis://redis:6379/0",
            },
        ),
    ],
)
def test_the_queue_is_in_redis_under_its_name_when_a_url_is_set(env, expected):
    done = _settings(**env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == expected


@pytest.mark.parametrize("name", ["staging-2", "a.b", "käse"])
def test_a_name_huey_would_change_in_its_keys_is_refused(name):
    done = _settings(HUEY_REDIS_URL="redis://redis:6379/0", CASEBRIDGE_HUEY_NAME=name)
    assert done.returncode != 0
    assert (
        f"ImproperlyConfigured: CASEBRIDGE_HUEY_NAME may hold only letters, digits and _ "
        f"(it is {name!r})"
    ) in done.stderr


def test_no_task_result_is_kept():
    """No caller reads a task's return value (outcomes are in audit events and logs), so
    the queue keeps none: a kept result stays until read, which is never (issue 12)."""
    from huey.contrib.djhuey import HUEY

    assert HUEY.results is False
