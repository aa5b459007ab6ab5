"""The settings mypy's Django plugin loads (pyproject.toml, [tool.django-stubs]): the
development settings, so that type-checking needs no production secrets. Production is the
default in config/settings.py and refuses to load without them."""

from __future__ import annotations

import importlib
import os

os.environ.setdefault("CASEBRIDGE_ENV", "development")
globals().update(
    {k: v for k, v in vars(importlib.import_module("config.settings")).items() if k.isupper()}
)
