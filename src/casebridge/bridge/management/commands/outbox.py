"""``manage.py outbox``: what the bridge still has to tell the books.

- ``outbox list --firm CODE [--state failed] [--kind cost_send] [--limit 50]``: the counts
  per state, then the items, newest first (id, kind, state, case, attempts, error);
- ``outbox show --firm CODE ID``: one item in full (its payload, its last error, the
  request id it was queued under: grep the logs for it);
- ``outbox retry --firm CODE --as EMAIL [ID ...]``: failed items (all, or those named)
  back in the queue, through the same service as the Queue screen's Retry (the user needs
  Costs management; the retry is audited under their name).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from casebridge.bridge.models import OutboxKind, OutboxState
from casebridge.bridge.selectors.queue import queue_counts, queue_items
from casebridge.bridge.services.outbox import items_retry
from casebridge.cases.models import Firm, User
from casebridge.core import words
from casebridge.core.errors import DomainError


class Command(BaseCommand):
    help = "List, inspect and retry the bridge's outbox items."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="counts and items, newest first")
        listing.add_argument("--firm", required=True)
        listing.add_argument("--state", choices=OutboxState.values, default="")
        listing.add_argument("--kind", choices=OutboxKind.values, default="")
        listing.add_argument("--limit", type=int, default=50)
        show = sub.add_parser("show", help="one item in full")
        show.add_argument("--firm", required=True)
        show.add_argument("id", type=int)
        retry = sub.add_parser("retry", help="failed items back in the queue")
        retry.add_argument("--firm", required=True)
        retry.add_argument("--as", dest="actor", required=True, help="a user's email")
        retry.add_argument("ids", type=int, nargs="*", help="item ids (default: every failed)")

    def handle(self, *args: Any, **options: Any) -> None:
        firm = Firm.objects.filter(code=options["firm"].strip().lower()).first()
        if firm is None:
            raise CommandError(f"no firm {options['firm']!r} on the cases side")
        if options["action"] == "list":
            self._list(firm, options["state"], options["kind"], options["limit"])
        elif options["action"] == "show":
            self._show(firm, options["id"])
        else:
            self._retry(firm, options["actor"], options["ids"] or None)

    def _list(self, firm: Firm, state: str, kind: str, limit: int) -> None:
        counts = queue_counts(firm)
        self.stdout.write(", ".join(f"{s}: {counts[s]}" for s in OutboxState.values))
        for item in queue_items(firm, state=state, kind=kind)[: max(0, limit)]:
            error = f" {item.error_code}: {item.error_message}" if item.error_code else ""
            self.stdout.write(
                f"#{item.pk} {item.kind} {item.state} case {item.case.number} "
                f"attempts {item.attempts}{error}"
            )

    def _show(self, firm: Firm, item_id: int) -> None:
        item = queue_items(firm).filter(pk=item_id).first()
        if item is None:
            raise CommandError(f"no outbox item {item_id} in firm {firm.code}")
        fields = {
            "id": item.pk,
            "kind": item.kind,
            "state": item.state,
            "case": item.case.number,
            "attempts": item.attempts,
            "created_at": item.created_at.isoformat(),
            "next_attempt_at": item.next_attempt_at.isoformat(),
            "sent_at": item.sent_at.isoformat() if item.sent_at else None,
            "request_id": item.request_id,
            "error_code": item.error_code,
            "error_message": item.error_message,
            "payload": item.payload,
            "result": item.result,
        }
        self.stdout.write(json.dumps(fields, indent=2, sort_keys=False, default=str))

    def _retry(self, firm: Firm, email: str, ids: list[int] | None) -> None:
        actor = User.objects.filter(firm=firm, email__iexact=email.strip(), is_active=True).first()
        if actor is None:
            raise CommandError(f"no active user {email!r} in firm {firm.code}")
        try:
            count = items_retry(firm=firm, actor=actor, item_ids=ids)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{words.plural(count, 'failed item')} queued again.")
