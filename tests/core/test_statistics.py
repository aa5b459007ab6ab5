"""SQLite keeps no planner statistics until ANALYZE runs; the worker runs it nightly."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from casebridge.core.statistics import statistics_refresh
from casebridge.core.tasks import statistics_refresh_nightly

pytestmark = pytest.mark.django_db


def _stat_rows(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'"
        )
        if cursor.fetchone() is None:
            return 0
        cursor.execute("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = %s", [table])
        return int(cursor.fetchone()[0])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's own statistics")
def test_sqlite_gets_statistics_for_the_indexes_of_tables_with_rows():
    """(ANALYZE keeps nothing for an empty table: the content types always have rows.)"""
    if _stat_rows("django_content_type"):  # as a new database: no statistics
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM sqlite_stat1")
    assert _stat_rows("django_content_type") == 0
    assert statistics_refresh() is True
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx, stat FROM sqlite_stat1 WHERE tbl = 'django_content_type'")
        stats = dict(cursor.fetchall())
    rows = ContentType.objects.count()
    labels = ContentType.objects.values("app_label").distinct().count()
    per_label = (rows + labels - 1) // labels  # SQLite's rounded-up average
    # the unique (app_label, model) index: rows; rows per app_label; per (app_label, model)
    assert f"{rows} {per_label} 1" in stats.values()


@pytest.mark.skipif(connection.vendor == "sqlite", reason="autovacuum analyses PostgreSQL")
def test_postgresql_is_left_to_autovacuum():
    assert statistics_refresh() is False


def test_the_nightly_task_runs_it():
    statistics_refresh_nightly.call_local()
    if connection.vendor == "sqlite":
        assert _stat_rows("django_content_type") > 0
