"""WSGI entry point (gunicorn config.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application
from django.urls import get_resolver

from casebridge.core.startup import start_up_objects_frozen

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()
# The URLconf, and with it every API's schemas, loaded now rather than by the first request,
# so that they are among the start-up objects the collector no longer walks.
get_resolver().url_patterns  # noqa: B018
start_up_objects_frozen()
