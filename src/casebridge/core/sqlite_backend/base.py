"""Django's SQLite backend, with the functions Casebridge's triggers call registered on
every connection it opens (:func:`casebridge.core.digest.register_sqlite_functions`)."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base

from casebridge.core.digest import register_sqlite_functions


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        register_sqlite_functions(conn)
        return conn
