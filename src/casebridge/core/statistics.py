"""The query planner's statistics.

PostgreSQL's autovacuum analyses a table once enough of it changed. SQLite keeps no
statistics until ``ANALYZE`` runs, and nothing runs it by itself: without them its planner
guesses, and at a million costs it walked a tab's whole date range for an attorney's
filter instead of probing the attorney's cases (bench/README.md, ``costs_management.py``).
The worker refreshes them nightly (:mod:`casebridge.core.tasks`).
"""

from __future__ import annotations

from django.db import connection

#: Rows SQLite samples per index (``PRAGMA analysis_limit``): enough for the planner's
#: choices, and ANALYZE of a million-row table takes a fraction of a second.
SQLITE_ANALYSIS_LIMIT = 1000


def statistics_refresh() -> bool:
    """Refresh the planner's statistics where nothing else does (SQLite); True if it ran."""
    if connection.vendor != "sqlite":
        return False  # PostgreSQL: autovacuum's ANALYZE
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        cursor.execute("ANALYZE")
    return True
