"""Each linked file's trust balance in the books, as the worker last read it (ADR 0008).

The settlement tab and Client Trust Management show the books' balance beside the cases
side's own figure. A page never asks the books: it shows the balance kept on the case's
:class:`~casebridge.bridge.models.CaseLink`, with its age, and asks the worker for a new
read when it is older than ``BRIDGE_TRUST_REFRESH_SECONDS`` (:func:`balances_request`).
The worker reads them when asked (:func:`balances_refresh`), after a delivery run that
moved trust money, after a firm-wide check-status sync and with every reconciliation
(:func:`balances_read`, :func:`balances_keep`).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings

from casebridge.bridge.client import BooksAuthLapsed, BooksClient, BooksError
from casebridge.bridge.models import CaseLink, Connection, ConnectionStatus
from casebridge.bridge.services.connection import client_for, connection_mark_lapsed
from casebridge.bridge.services.worker import ask
from casebridge.core import clock
from casebridge.core.db import update_rows

log = logging.getLogger(__name__)


def balances_keep(
    firm_id: int, balances: dict[int, int], *, file_ids: Iterable[int], missing_is_zero: bool
) -> None:
    """Keep what the books answered for ``file_ids``; a file left out of the answer is
    kept as 0 (``missing_is_zero``: the bulk read leaves out files without a ledger) or as
    unknown (an explicit read leaves out only files the books do not know)."""
    wanted = set(file_ids)
    if not wanted:
        return
    now = clock.now()
    rows = [
        (pk, balances.get(file_id, 0 if missing_is_zero else None))
        for pk, file_id in CaseLink.objects.filter(firm_id=firm_id)
        .filter(books_file_id__in=wanted)
        .values_list("pk", "books_file_id")
    ]
    update_rows(CaseLink, [("books_trust_cents", "bigint")], rows)
    pks = [pk for pk, _ in rows]
    for start in range(0, len(pks), 1000):
        CaseLink.objects.filter(pk__in=pks[start : start + 1000]).update(books_trust_read_at=now)


def balances_keep_firm(firm_id: int, balances: dict[int, int], *, asked_at: dt.datetime) -> None:
    """Keep what the books answered for every linked file of the firm (a file left out of
    the answer has no ledger: 0), without a list of ids: the balances that changed are
    written, and the time of the read once, on the connection (stamping every link was an
    UPDATE of every row of the firm's links a run: :func:`balance_read_at`). ``asked_at``:
    when the books were asked; a link made since is not in their answer, and keeps none."""
    links = CaseLink.objects.filter(firm_id=firm_id, linked_at__lte=asked_at).exclude(
        books_trust_read_at__gt=asked_at  # read alone since: that read is newer
    )
    changed = [
        (pk, balances.get(file_id, 0))
        for pk, file_id, kept in links.values_list("pk", "books_file_id", "books_trust_cents")
        if kept != balances.get(file_id, 0)
    ]
    update_rows(CaseLink, [("books_trust_cents", "bigint")], changed)
    Connection.objects.filter(firm_id=firm_id).update(trust_balances_read_at=asked_at)


def balance_read_at(link: CaseLink, conn: Connection) -> dt.datetime | None:
    """When the link's balance was last read: its own read, or the firm's last whole read
    if the link was made by then and that read kept a balance for it, whichever is later."""
    firm_read = conn.trust_balances_read_at
    if firm_read is not None and link.linked_at > firm_read:
        firm_read = None
    if link.books_trust_cents is None and link.books_trust_read_at is None:
        firm_read = None  # made as the firm was read, but not in the links it wrote
    reads = [r for r in (link.books_trust_read_at, firm_read) if r is not None]
    return max(reads) if reads else None


def balances_read(
    conn: Connection, client: BooksClient, case_ids: Iterable[int] | None = None
) -> None:
    """On the worker, with a client it holds: read the trust balances of these cases' files
    (else every linked file of the firm) and keep them."""
    if conn.trust_account_id is None:
        return
    links = CaseLink.objects.filter(firm_id=conn.firm_id)
    if case_ids is not None:
        links = links.filter(case_id__in=list(case_ids))
    file_ids = list(links.values_list("books_file_id", flat=True))
    if not file_ids:
        return
    balances = client.trust_balances(conn.trust_account_id, file_ids)
    balances_keep(conn.firm_id, balances, file_ids=file_ids, missing_is_zero=False)


def balances_refresh(*, firm_id: int) -> None:
    """On the worker: read every linked file's trust balance now (asked for by a page that
    showed one too old). A failure leaves the last balances, with their age."""
    started = clock.now()
    conn = Connection.objects.filter(firm_id=firm_id).first()
    if conn is None:
        return
    try:
        if conn.status == ConnectionStatus.CONNECTED and not conn.auth_lapsed_at:
            client = client_for(conn)
            try:
                balances_read(conn, client)
            finally:
                client.close()
    except BooksAuthLapsed:
        connection_mark_lapsed(conn=conn)
    except BooksError as exc:
        log.warning("trust balances of firm %s not read: %s", firm_id, exc.message)
    except Exception:  # an unreadable token and the like: the page says how old its figure is
        log.exception("trust balances of firm %s not read", firm_id)
    finally:
        Connection.objects.filter(pk=conn.pk, trust_refresh_requested_at__lte=started).update(
            trust_refresh_requested_at=None
        )


def balances_request(conn: Connection) -> None:
    """Ask the worker for a new read of the firm's trust balances (once: a read already
    asked for stands; the minute sweep takes it up should its task be lost)."""
    if Connection.objects.filter(pk=conn.pk, trust_refresh_requested_at__isnull=True).update(
        trust_refresh_requested_at=clock.now()
    ):
        ask("trust", conn.firm_id)


def balance_stale(read_at: dt.datetime | None) -> bool:
    return read_at is None or clock.now() - read_at > dt.timedelta(
        seconds=settings.BRIDGE_TRUST_REFRESH_SECONDS
    )
