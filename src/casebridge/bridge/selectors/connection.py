"""The connection card: whether the firm has a connection, whether it is connected, and what
the Integrations panel shows."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from casebridge.bridge.models import Connection, ConnectionStatus, SyncRun
from casebridge.bridge.selectors.queue import queue_counts
from casebridge.bridge.selectors.reconciliation import last_reconciliation
from casebridge.bridge.services.connection import (
    books_addresses_of,
    connection_of,
    connection_view,
    sign_in_of,
)
from casebridge.bridge.services.readiness import readiness_last
from casebridge.cases.models import Firm, Permission, User


def has_connection(firm: Firm) -> bool:
    return Connection.objects.filter(firm=firm).exists()


def is_connected(firm: Firm) -> bool:
    return Connection.objects.filter(firm=firm, status=ConnectionStatus.CONNECTED).exists()


def panel_context(user: User) -> dict[str, Any]:
    conn = connection_of(user.firm)
    return {
        "conn": conn,
        "view": connection_view(conn),
        "can_manage": user.has_permission(Permission.ADMIN_SETTINGS),
        "counts": queue_counts(user.firm) if conn else {},
        "readiness": readiness_last(conn) if conn else None,
        "last_sync": SyncRun.objects.filter(firm=user.firm).order_by("-started_at").first()
        if conn
        else None,
        "last_reconciliation": last_reconciliation(user.firm) if conn else None,
        "sign_in": sign_in_of(user.firm),
        "addresses": list(books_addresses_of(user.firm)),
        "is_firm_admin": user.is_firm_admin,
        "allow_loopback": settings.DEBUG or settings.BRIDGE_ALLOW_LOOPBACK_BOOKS,
    }
