"""Django's SQLite backend, with the functions Casebridge's triggers call registered on
every connection it opens (:func:`casebridge.core.digest.register_sqlite_functions`), and
``casebridge_flushing()``: 1 while this connection runs Django's flush (the tests' reset
between transactional tests, ``manage.py flush``), else 0. Triggers that refuse a DELETE
(the cases side's deadlines, migration ``cases.0014``) let the flush's ``DELETE FROM``
through with it; PostgreSQL flushes with TRUNCATE, which row triggers do not see."""

from __future__ import annotations

from typing import Any

from django.db.backends.sqlite3 import base, operations

from casebridge.core.digest import register_sqlite_functions


class DatabaseOperations(operations.DatabaseOperations):
    def execute_sql_flush(self, sql_list: Any) -> None:
        wrapper: Any = self.connection
        wrapper.casebridge_flushing = True
        try:
            super().execute_sql_flush(sql_list)
        finally:
            wrapper.casebridge_flushing = False


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations
    casebridge_flushing = False

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        conn = super().get_new_connection(conn_params)
        register_sqlite_functions(conn)
        conn.create_function("casebridge_flushing", 0, lambda: int(self.casebridge_flushing))
        return conn
