"""A long-running process sets its start-up objects aside from the garbage collector
(casebridge.core.startup, issue 12): the web process once config.wsgi is loaded (the
URLconf and every API schema among them), the Huey worker by its start-up hook. Read in a
fresh process, as gunicorn and the worker start."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> dict[str, int]:
    done = subprocess.run(  # noqa: S603 - this interpreter with fixed arguments
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_the_web_process_freezes_its_start_up_objects_the_api_schemas_among_them():
    found = _fresh(
        "import gc, json, sys\n"
        "before = gc.get_freeze_count()\n"
        "import config.wsgi\n"
        "print(json.dumps({'before': before, 'frozen': gc.get_freeze_count(),\n"
        "    'urls_loaded': int('casebridge.books.api.router' in sys.modules)}))\n"
    )

    assert found["before"] == 0
    assert found["urls_loaded"] == 1
    assert found["frozen"] > 100_000


def test_the_worker_freezes_its_start_up_objects_by_its_start_up_hook():
    found = _fresh(
        "import gc, json, django\n"
        "django.setup()\n"
        "from huey.contrib.djhuey import HUEY\n"
        "import casebridge.core.tasks\n"
        "before = gc.get_freeze_count()\n"
        "for hook in HUEY._startup.values():\n"
        "    hook()\n"
        "print(json.dumps({'before': before, 'frozen': gc.get_freeze_count()}))\n"
    )

    assert found["before"] == 0
    assert found["frozen"] > 50_000


def test_a_second_worker_thread_freezes_nothing_more():
    found = _fresh(
        "import gc, json\n"
        "from casebridge.core.startup import start_up_objects_frozen\n"
        "start_up_objects_frozen()\n"
        "first = gc.get_freeze_count()\n"
        "task_objects = [[n] for n in range(5000)]  # a task running in the first thread\n"
        "start_up_objects_frozen()  # the second thread's start-up hook\n"
        "print(json.dumps({'first': first, 'second': gc.get_freeze_count()}))\n"
    )

    assert found["second"] == found["first"] > 0
