"""A pytest plugin (``-p tests.development_env`` in pyproject.toml): the test run is a
development run unless the environment already says otherwise.

Production is the default (config/settings.py) and refuses to start without its secrets;
pytest-django reads the settings before any conftest is imported, so this is a plugin
loaded from the command line, not a conftest. The tests of the production settings start
their own processes with a production environment (tests/core/test_settings.py).
"""

from __future__ import annotations

import os

os.environ.setdefault("CASEBRIDGE_ENV", "development")
