"""Matching bank statement lines to the books' items: what the bank has cleared (issue 11,
ADR 0015).

A **books item** is a posting to a bank account's GL account: a check, a trust receipt, an
invoice's transfer, a journal entry. It is **cleared** when a :class:`ClearedItem` names it
(unique per posting, so an item never clears twice), with the date of the bank line that
cleared it. A line is matched when the items it cleared add up to its amount, to the cent:

- **auto-match** (:func:`statement_auto_match`) applies only a match that is the only
  candidate of its line and whose items are candidates of no other line; anything
  ambiguous is *proposed* (the line's ``proposals``), never applied. In order:
  1. a line with a check number: the printed check of that number and the same amount;
  2. a line with a reference (or the bank's transaction id): the item whose entry carries
     that posting reference and the same amount (electronic transfers);
  3. any other line: an item of the same amount dated from :data:`DAYS_BEFORE` days
     before the line to :data:`DAYS_AFTER` days after it (a check found this way is only
     proposed: checks match by number);
  4. a deposit line left over: the deposits of one day (a deposit slip of several
     receipts) that add up to it.
  A voided item (an entry and its reversal, both uncleared) is never applied: it is
  proposed, since a voided check the bank paid needs a person.
- **manual match** (:func:`line_match`) of one line to one item or several (a split), and
  :func:`line_unmatch` back, audited;
- an unmatched line is **recorded** (:func:`line_record`: a journal entry dated on the
  line, cleared by it) or **set aside** as a reconciling item with a note
  (:func:`line_set_aside`).

Nothing here changes a month closed by a signed reconciliation (``periods.py``). Every
write locks the bank account row first (``FOR NO KEY UPDATE``, the counter-row step of
ADR 0012's lock order), so two matchings of one account take turns.
"""

from __future__ import annotations

import datetime as dt
import json
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import connection, transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import Conflict, PeriodClosed, ValidationFailed
from casebridge.books.models import (
    BankAccount,
    BankAccountKind,
    ClearedHow,
    ClearedItem,
    File,
    Firm,
    GLAccount,
    Posting,
    StatementLine,
    StatementLineStatus,
    User,
)
from casebridge.books.roles import CORRECTIONS, require_role
from casebridge.books.services.journal import Line, journal_entry_post, journal_entry_reverse
from casebridge.books.services.statements import insert_rows
from casebridge.core import clock, words
from casebridge.core.db import update_rows
from casebridge.core.money import format_cents

#: A books item may be dated this many days before the bank line that clears it ...
DAYS_BEFORE = 10
#: ... or this many after (the bank dated it before the books did).
DAYS_AFTER = 3
#: Most candidate matches kept on a proposed line.
MAX_PROPOSALS = 10

_OPEN_STATUSES = (StatementLineStatus.UNMATCHED, StatementLineStatus.PROPOSED)


class OpenItem(NamedTuple):
    """An uncleared books item of a bank account (a named tuple, immutable as a frozen
    dataclass and built several times faster: auto-match builds one per open item)."""

    posting_id: int
    entry_id: int
    date: dt.date
    amount_cents: int
    reference: str
    check_number: int | None
    voided: bool


class _OpenLine(NamedTuple):
    line_id: int
    posted_on: dt.date
    amount_cents: int
    check_number: str | None
    reference: str
    bank_txn_id: str | None


@dataclass
class AutoMatchResult:
    lines_considered: int = 0
    lines_matched: int = 0
    items_cleared: int = 0
    lines_proposed: int = 0
    lines_left: int = 0
    skipped_closed: int = 0
    matched: list[tuple[int, list[int]]] = field(default_factory=list)


def bank_for_update(firm: Firm, bank_account_id: int) -> BankAccount:
    """The firm's bank account, its row locked ``FOR NO KEY UPDATE`` (a no-op on SQLite)."""
    bank = (
        BankAccount.objects.select_for_update(no_key=True)
        .filter(firm=firm, pk=bank_account_id)
        .first()
    )
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    return bank


def open_items(bank: BankAccount) -> list[OpenItem]:
    """Every uncleared item of ``bank``: its postings with no :class:`ClearedItem`, each
    with its entry's date and posting reference, its check number if it is a printed
    check's, and whether it is half of a void (an entry and its reversal both open)."""
    rows = list(
        Posting.objects.filter(account_id=bank.gl_account_id, cleared__isnull=True)
        .order_by("entry__date", "pk")
        .values_list(
            "pk",
            "entry_id",
            "entry__date",
            "debit_cents",
            "credit_cents",
            "entry__posting_reference",
            "entry__reverses_id",
            # a check's entry posts to its own bank account only: no filter on the bank
            "entry__check_issued__check_number",
        )
    )
    open_entries = {row[1] for row in rows}
    voided = {row[1] for row in rows if row[6] is not None and row[6] in open_entries}
    voided |= {row[6] for row in rows if row[6] is not None and row[6] in open_entries}
    return [
        OpenItem(pk, entry_id, date, debit - credit, reference, number, entry_id in voided)
        for pk, entry_id, date, debit, credit, reference, _, number in rows
    ]


def _digits(value: str | None) -> int | None:
    if not value:
        return None
    text = value.strip().lstrip("0")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


def _item_date(item: OpenItem) -> dt.date:
    return item.date


def _plan(
    lines: Sequence[_OpenLine], items: Sequence[OpenItem]
) -> tuple[list[tuple[_OpenLine, list[OpenItem]]], dict[int, list[list[int]]]]:
    """Which lines to match to which items, and what to propose for the others (pure)."""
    before, after = dt.timedelta(days=DAYS_BEFORE), dt.timedelta(days=DAYS_AFTER)
    used: set[int] = set()
    applied: list[tuple[_OpenLine, list[OpenItem]]] = []
    proposals: dict[int, list[list[int]]] = {}
    remaining: list[_OpenLine] = []

    by_check: dict[tuple[int, int], list[OpenItem]] = defaultdict(list)
    by_reference: dict[tuple[str, int], list[OpenItem]] = defaultdict(list)
    by_amount: dict[int, list[OpenItem]] = defaultdict(list)
    for item in items:
        if item.check_number is not None:
            by_check[(item.check_number, item.amount_cents)].append(item)
        if item.reference:
            by_reference[(item.reference.casefold(), item.amount_cents)].append(item)
        by_amount[item.amount_cents].append(item)

    def propose(line: _OpenLine, sets: Iterable[list[OpenItem]]) -> None:
        chosen = [[i.posting_id for i in s] for s in sets][:MAX_PROPOSALS]
        if chosen:
            proposals[line.line_id] = chosen

    # 1. checks by number and amount; 2. transfers by reference and amount
    for line in lines:
        number = _digits(line.check_number)
        if number is not None and line.amount_cents < 0:
            found = [
                i for i in by_check.get((number, line.amount_cents), []) if i.posting_id not in used
            ]
            if len(found) == 1 and not found[0].voided:
                used.add(found[0].posting_id)
                applied.append((line, found))
            else:
                propose(line, ([i] for i in found))
            continue
        refs = {r.casefold() for r in (line.reference, line.bank_txn_id or "") if r}
        found = [
            i
            for r in sorted(refs)
            for i in by_reference.get((r, line.amount_cents), [])
            if i.posting_id not in used
        ]
        if len(found) == 1 and not found[0].voided:
            used.add(found[0].posting_id)
            applied.append((line, found))
        elif found:
            propose(line, ([i] for i in found))
        else:
            remaining.append(line)

    # 3. the same amount in the date window: applied when the line has one candidate and
    # that candidate is no other line's. The items of an amount that several share are
    # sorted by date (stably: the order given within a day) and the line's window found
    # by bisection: a thousand $25.00 items cost a line two look-ups, not a thousand.
    amount_dates: dict[int, list[dt.date]] = {}
    candidates: dict[int, list[OpenItem]] = {}
    claims: dict[int, int] = defaultdict(int)
    for line in remaining:
        same = by_amount.get(line.amount_cents)
        low, high = line.posted_on - before, line.posted_on + after
        if same is None:
            found = []
        elif len(same) == 1:
            found = [i for i in same if i.posting_id not in used and low <= i.date <= high]
        else:
            dates = amount_dates.get(line.amount_cents)
            if dates is None:
                same.sort(key=_item_date)
                dates = amount_dates[line.amount_cents] = [i.date for i in same]
            window = same[bisect_left(dates, low) : bisect_right(dates, high)]
            found = [i for i in window if i.posting_id not in used]
        candidates[line.line_id] = found
        for i in found:
            claims[i.posting_id] += 1
    slips: list[_OpenLine] = []
    for line in remaining:
        found = candidates[line.line_id]
        only = found[0] if len(found) == 1 else None
        if (
            only is not None
            and claims[only.posting_id] == 1
            and only.check_number is None
            and not only.voided
        ):
            used.add(only.posting_id)
            applied.append((line, [only]))
        elif found:
            propose(line, ([i] for i in found))
        elif line.amount_cents > 0:
            slips.append(line)

    # 4. a deposit slip: one day's open deposits adding up to the line
    by_day: dict[dt.date, list[OpenItem]] = defaultdict(list)
    for item in items if slips else ():
        if (
            item.amount_cents > 0
            and item.posting_id not in used
            and item.check_number is None
            and not item.voided
        ):
            by_day[item.date].append(item)
    days_by_total: dict[int, list[dt.date]] = defaultdict(list)
    for day, day_items in by_day.items():
        if len(day_items) > 1:
            days_by_total[sum(i.amount_cents for i in day_items)].append(day)
    slip_candidates: dict[int, list[list[OpenItem]]] = {}
    slip_claims: dict[dt.date, int] = defaultdict(int)
    for line in slips:
        days = [
            day
            for day in days_by_total.get(line.amount_cents, [])
            if line.posted_on - before <= day <= line.posted_on + after
        ]
        slip_candidates[line.line_id] = [by_day[d] for d in sorted(days)]
        for d in days:
            slip_claims[d] += 1
    for line in slips:
        sets = slip_candidates[line.line_id]
        if len(sets) == 1 and slip_claims[sets[0][0].date] == 1:
            used.update(i.posting_id for i in sets[0])
            applied.append((line, sets[0]))
        else:
            propose(line, sets)
    return applied, proposals


def _line_rows(bank: BankAccount, line_ids: Iterable[int] | None = None) -> list[_OpenLine]:
    qs = StatementLine.objects.filter(bank_account=bank, status__in=_OPEN_STATUSES)
    if line_ids is not None:
        qs = qs.filter(pk__in=list(line_ids))
    return [
        _OpenLine(*row)
        for row in qs.order_by("posted_on", "pk").values_list(
            "pk", "posted_on", "amount_cents", "check_number", "reference", "bank_txn_id"
        )
    ]


def _chunks(values: Sequence[int], size: int = 2000) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


#: The columns auto-match writes of a :class:`ClearedItem`.
_CLEARED_FIELDS = (
    "firm",
    "bank_account",
    "posting",
    "entry",
    "line",
    "amount_cents",
    "cleared_on",
    "how",
    "matched_by",
    "matched_at",
)


def _lines_matched(line_ids: Sequence[int]) -> None:
    """Mark the lines matched, their proposals dropped: on PostgreSQL one UPDATE whatever
    their number (the ids as one array: a third faster than IN lists of 2,000 for
    100,000 lines), on SQLite an UPDATE per 2,000."""
    if not line_ids:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(StatementLine._meta.db_table)
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = %s, proposals = NULL WHERE id = ANY(%s)",  # noqa: S608
                [StatementLineStatus.MATCHED.value, list(line_ids)],
            )
        return
    for chunk in _chunks(line_ids):
        StatementLine.objects.filter(pk__in=chunk).update(
            status=StatementLineStatus.MATCHED, proposals=None
        )


@transaction.atomic
def statement_auto_match(
    *, firm: Firm, actor: User | None, bank_account_id: int
) -> AutoMatchResult:
    """Match every open line of the bank account that has exactly one match (see the
    module's rules); propose the candidates of the ambiguous ones. One audit event for
    the run; each cleared item records how, when and by whom."""
    bank = bank_for_update(firm, bank_account_id)
    lines = _line_rows(bank)
    result = AutoMatchResult(lines_considered=len(lines))
    if bank.closed_through is not None:
        open_lines = [ln for ln in lines if ln.posted_on > bank.closed_through]
        result.skipped_closed = len(lines) - len(open_lines)
        lines = open_lines
    applied, proposals = _plan(lines, open_items(bank))
    now = clock.now()
    actor_id = actor.pk if actor is not None else None
    insert_rows(
        ClearedItem,
        _CLEARED_FIELDS,
        [
            (
                firm.pk,
                bank.pk,
                item.posting_id,
                item.entry_id,
                line.line_id,
                item.amount_cents,
                line.posted_on,
                ClearedHow.AUTO.value,
                actor_id,
                now,
            )
            for line, items in applied
            for item in items
        ],
    )
    matched_ids = [line.line_id for line, _ in applied]
    _lines_matched(matched_ids)
    update_rows(
        StatementLine,
        [("status", "varchar"), ("proposals", "jsonb")],
        [
            (line_id, StatementLineStatus.PROPOSED.value, json.dumps(sets))
            for line_id, sets in proposals.items()
        ],
    )
    result.lines_matched = len(matched_ids)
    result.items_cleared = sum(len(items) for _, items in applied)
    result.lines_proposed = len(proposals)
    result.lines_left = len(lines) - result.lines_matched - result.lines_proposed
    result.matched = [(line.line_id, [i.posting_id for i in items]) for line, items in applied]
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="statement_auto_matched",
        entity_type="bank_account",
        entity_id=bank.pk,
        summary=(
            f"Auto-match of {bank.name}: {words.plural(result.lines_matched, 'line')} matched "
            f"({words.plural(result.items_cleared, 'item')} cleared), "
            f"{result.lines_proposed} proposed, "
            f"{result.lines_left} left unmatched"
        ),
        after={
            "matched": result.lines_matched,
            "cleared": result.items_cleared,
            "proposed": result.lines_proposed,
            "left": result.lines_left,
            "skipped_closed": result.skipped_closed,
        },
    )
    return result


def _line_for_update(firm: Firm, line_id: int) -> tuple[BankAccount, StatementLine]:
    bank_id = (
        StatementLine.objects.filter(firm=firm, pk=line_id)
        .values_list("bank_account_id", flat=True)
        .first()
    )
    if bank_id is None:
        raise ValidationFailed("statement line not found in this firm", field="line")
    bank = bank_for_update(firm, bank_id)
    line = StatementLine.objects.select_for_update().get(pk=line_id)
    return bank, line


def _refuse_if_closed(bank: BankAccount, line: StatementLine) -> None:
    if bank.closed_through is not None and line.posted_on <= bank.closed_through:
        raise PeriodClosed(
            f"{bank.name} is closed through {bank.closed_through.isoformat()} by a signed "
            f"reconciliation; the line of {line.posted_on.isoformat()} cannot change unless "
            "an administrator reopens the month",
            field="line",
            closed_through=bank.closed_through.isoformat(),
        )


def _describe(line: StatementLine) -> str:
    return f"line of {line.posted_on.isoformat()} for {format_cents(line.amount_cents)}"


def _clear(
    firm: Firm,
    actor: User | None,
    bank: BankAccount,
    line: StatementLine,
    items: Sequence[tuple[int, int, int]],
    how: ClearedHow,
) -> list[ClearedItem]:
    """Clear ``items`` ((posting id, entry id, amount)) by ``line`` and mark it matched."""
    now = clock.now()
    cleared = ClearedItem.objects.bulk_create(
        [
            ClearedItem(
                firm=firm,
                bank_account=bank,
                posting_id=posting_id,
                entry_id=entry_id,
                line=line,
                amount_cents=amount,
                cleared_on=line.posted_on,
                how=how,
                matched_by=actor,
                matched_at=now,
            )
            for posting_id, entry_id, amount in items
        ]
    )
    line.status = StatementLineStatus.MATCHED
    line.proposals = None
    line.save(update_fields=["status", "proposals"])
    return cleared


@transaction.atomic
def line_match(
    *, firm: Firm, actor: User | None, line_id: int, posting_ids: Sequence[int]
) -> list[ClearedItem]:
    """Match a line by hand to one books item or several (a split): the items must be
    open items of the line's bank account and add up to the line's amount exactly."""
    ids = list(dict.fromkeys(posting_ids))
    if not ids:
        raise ValidationFailed("choose at least one books item to match", field="items")
    if len(ids) > 500:
        raise ValidationFailed("a line matches at most 500 items", field="items")
    bank, line = _line_for_update(firm, line_id)
    if line.status == StatementLineStatus.MATCHED:
        raise Conflict(f"the {_describe(line)} is already matched; unmatch it first")
    _refuse_if_closed(bank, line)
    rows = {
        pk: (entry_id, debit - credit)
        for pk, entry_id, debit, credit in Posting.objects.filter(
            pk__in=ids, account_id=bank.gl_account_id
        ).values_list("pk", "entry_id", "debit_cents", "credit_cents")
    }
    missing = [pk for pk in ids if pk not in rows]
    if missing:
        raise ValidationFailed(
            f"item {missing[0]} is not an item of {bank.name}", field="items", items=missing
        )
    already = sorted(
        ClearedItem.objects.filter(posting_id__in=ids).values_list("posting_id", flat=True)
    )
    if already:
        raise Conflict(
            f"item {already[0]} is already cleared; unmatch its line first",
            field="items",
            items=already,
        )
    total = sum(amount for _, amount in rows.values())
    if total != line.amount_cents:
        raise ValidationFailed(
            f"the items add up to {format_cents(total)}; the {_describe(line)} is "
            f"{format_cents(line.amount_cents)} (a difference of "
            f"{format_cents(line.amount_cents - total)})",
            field="items",
        )
    before = {"status": line.status}
    cleared = _clear(
        firm,
        actor,
        bank,
        line,
        [(pk, rows[pk][0], rows[pk][1]) for pk in ids],
        ClearedHow.MANUAL,
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="statement_line_matched",
        entity_type="statement_line",
        entity_id=line.pk,
        summary=(
            f"The {_describe(line)} of {bank.name} matched to "
            f"{len(ids)} item{'s' if len(ids) != 1 else ''} by hand"
        ),
        before=before,
        after={"status": line.status, "postings": ids},
    )
    return cleared


@transaction.atomic
def line_unmatch(
    *, firm: Firm, actor: User | None, line_id: int, reason: str = ""
) -> StatementLine:
    """Undo a line's match (its items are open again) or its setting aside; audited. A
    correction (an entry recorded from the line is reversed): the accountant role or above
    (403 ``role_required``)."""
    require_role(actor, CORRECTIONS, doing="Unmatching a statement line")
    bank, line = _line_for_update(firm, line_id)
    if line.status == StatementLineStatus.UNMATCHED:
        raise Conflict(f"the {_describe(line)} is not matched")
    _refuse_if_closed(bank, line)
    items = list(
        ClearedItem.objects.filter(line=line).order_by("pk").values_list("posting_id", flat=True)
    )
    recorded = list(
        ClearedItem.objects.filter(line=line, how=ClearedHow.RECORDED).select_related("entry")
    )
    ClearedItem.objects.filter(line=line).delete()
    # an entry recorded from the line goes with it: reversed on the line's date (an open
    # month, checked above), so recording the line again cannot post it twice
    reversals = [
        journal_entry_reverse(
            firm=firm,
            entry=item.entry,
            date=line.posted_on,
            memo=f"Reversal of entry {item.entry_id}: statement line unmatched",
            actor=actor,
        ).pk
        for item in recorded
    ]
    before = {"status": line.status, "postings": items, "note": line.note}
    line.status = StatementLineStatus.UNMATCHED
    line.proposals = None
    reason = " ".join(reason.split())[:500]
    line.note = reason or None
    line.save(update_fields=["status", "proposals", "note"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="statement_line_unmatched",
        entity_type="statement_line",
        entity_id=line.pk,
        summary=(
            f"The {_describe(line)} of {bank.name} unmatched" + (f": {reason}" if reason else "")
        )[:500],
        before=before,
        after={"status": line.status, **({"reversals": reversals} if reversals else {})},
    )
    return line


@transaction.atomic
def line_set_aside(*, firm: Firm, actor: User | None, line_id: int, note: str) -> StatementLine:
    """Leave an unmatched line as a reconciling item (a bank item the books do not carry),
    with a note saying why; the reconciliation lists it."""
    note = " ".join((note or "").split())
    if not note:
        raise ValidationFailed("say why the line is left as a reconciling item", field="note")
    if len(note) > 500:
        raise ValidationFailed("the note is longer than 500 characters", field="note")
    bank, line = _line_for_update(firm, line_id)
    if line.status not in _OPEN_STATUSES:
        raise Conflict(f"the {_describe(line)} is {line.get_status_display().lower()}")
    _refuse_if_closed(bank, line)
    line.status = StatementLineStatus.RECONCILING
    line.proposals = None
    line.note = note
    line.save(update_fields=["status", "proposals", "note"])
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="statement_line_set_aside",
        entity_type="statement_line",
        entity_id=line.pk,
        summary=f"The {_describe(line)} of {bank.name} left as a reconciling item: {note}"[:500],
        after={"status": line.status, "note": note},
    )
    return line


#: What the refusal says when trust interest is recorded as the firm's.
IOLTA_INTEREST_RULE = (
    "interest on a client trust (IOLTA) account belongs to the bar foundation, not to the "
    "firm: record it to the client ledger of the file that holds it for the foundation, "
    "and pay it over with a trust check"
)


@transaction.atomic
def line_record(
    *,
    firm: Firm,
    actor: User | None,
    line_id: int,
    account_id: int | None = None,
    file_id: int | None = None,
    memo: str = "",
) -> ClearedItem:
    """Record a bank line the books lack (a bank fee, interest, a returned item, an
    unknown deposit) as a journal entry dated on the line, cleared by it.

    - operating account: against ``account_id`` (an expense for a fee, income for
      interest), neither a bank account nor client trust;
    - trust account: against the client ledger of ``file_id`` (money in a trust account
      is always some client's); never to an income account (:data:`IOLTA_INTEREST_RULE`).

    A correction (a new entry the books lacked): the accountant role or above (403
    ``role_required``).
    """
    require_role(actor, CORRECTIONS, doing="Recording a statement line")
    bank, line = _line_for_update(firm, line_id)
    if line.status not in _OPEN_STATUSES:
        raise Conflict(f"the {_describe(line)} is {line.get_status_display().lower()}")
    _refuse_if_closed(bank, line)
    gl = GLAccount.objects.get(pk=bank.gl_account_id)
    amount = abs(line.amount_cents)
    money_in = line.amount_cents > 0
    memo = " ".join((memo or line.description or "Bank statement line").split())[:500]
    if bank.kind == BankAccountKind.TRUST:
        if account_id is not None:
            raise ValidationFailed(
                "a client trust account's line is recorded to a client ledger: choose the "
                f"file, not an account ({IOLTA_INTEREST_RULE})",
                field="account",
            )
        if file_id is None:
            raise ValidationFailed(
                "choose the file whose client ledger the line belongs to", field="file"
            )
        file = File.objects.filter(firm=firm, pk=file_id).first()
        if file is None:
            raise ValidationFailed("file not found in this firm", field="file")
        liability = bank.trust_liability_account
        assert liability is not None  # a trust bank account has one (a CHECK constraint)
        lines = [
            Line(gl, debit_cents=amount if money_in else 0, credit_cents=0 if money_in else amount),
            Line(
                liability,
                debit_cents=0 if money_in else amount,
                credit_cents=amount if money_in else 0,
                file=file,
            ),
        ]
    else:
        if file_id is not None:
            raise ValidationFailed(
                "an operating account's line is recorded to an account, not a file",
                field="file",
            )
        if account_id is None:
            raise ValidationFailed("choose the account to record the line to", field="account")
        other = GLAccount.objects.filter(firm=firm, pk=account_id).first()
        if other is None:
            raise ValidationFailed("account not found in this firm", field="account")
        if other.is_client_trust or BankAccount.objects.filter(gl_account=other).exists():
            raise ValidationFailed(
                f"{other} is a bank or client trust account: a transfer between bank "
                "accounts is matched to its entry, not recorded from one statement",
                field="account",
            )
        lines = [
            Line(gl, debit_cents=amount if money_in else 0, credit_cents=0 if money_in else amount),
            Line(
                other, debit_cents=0 if money_in else amount, credit_cents=amount if money_in else 0
            ),
        ]
    entry = journal_entry_post(
        firm=firm,
        date=line.posted_on,
        lines=lines,
        memo=memo,
        posting_reference=line.reference[:60],
        source="bank_statement",
        actor=actor,
    )
    posting = Posting.objects.get(entry=entry, account_id=gl.pk)
    [cleared] = _clear(
        firm,
        actor,
        bank,
        line,
        [(posting.pk, entry.pk, posting.debit_cents - posting.credit_cents)],
        ClearedHow.RECORDED,
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="statement_line_recorded",
        entity_type="statement_line",
        entity_id=line.pk,
        summary=f"The {_describe(line)} of {bank.name} recorded as entry {entry.pk}: {memo}"[:500],
        after={"status": line.status, "entry": entry.pk},
    )
    return cleared


@transaction.atomic
def items_clear_opening(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    posting_ids: Sequence[int],
    cleared_on: dt.date,
) -> list[ClearedItem]:
    """Mark books items as cleared before the first statement imported (an account whose
    history began in another system): no line, dated ``cleared_on``; audited. Only before
    every statement line of the account, and never in a closed month."""
    ids = list(dict.fromkeys(posting_ids))
    if not ids:
        raise ValidationFailed("choose at least one books item", field="items")
    bank = bank_for_update(firm, bank_account_id)
    if bank.closed_through is not None and cleared_on <= bank.closed_through:
        raise PeriodClosed(
            f"{bank.name} is closed through {bank.closed_through.isoformat()}",
            field="cleared_on",
        )
    first_line = (
        StatementLine.objects.filter(bank_account=bank)
        .order_by("posted_on")
        .values_list("posted_on", flat=True)
        .first()
    )
    if first_line is not None and cleared_on >= first_line:
        raise ValidationFailed(
            f"items cleared before the first statement are dated before its first line "
            f"({first_line.isoformat()}); match later items to their lines",
            field="cleared_on",
        )
    rows = list(
        Posting.objects.filter(pk__in=ids, account_id=bank.gl_account_id, cleared__isnull=True)
        .filter(entry__date__lte=cleared_on)
        .values_list("pk", "entry_id", "debit_cents", "credit_cents")
    )
    if len(rows) != len(ids):
        found = {r[0] for r in rows}
        bad = next(pk for pk in ids if pk not in found)
        raise ValidationFailed(
            f"item {bad} is not an open item of {bank.name} dated on or before "
            f"{cleared_on.isoformat()}",
            field="items",
        )
    now = clock.now()
    cleared = ClearedItem.objects.bulk_create(
        [
            ClearedItem(
                firm=firm,
                bank_account=bank,
                posting_id=pk,
                entry_id=entry_id,
                line=None,
                amount_cents=debit - credit,
                cleared_on=cleared_on,
                how=ClearedHow.OPENING,
                matched_by=actor,
                matched_at=now,
            )
            for pk, entry_id, debit, credit in rows
        ]
    )
    books_audit(
        firm_id=firm.pk,
        actor=actor,
        action="items_cleared_opening",
        entity_type="bank_account",
        entity_id=bank.pk,
        summary=(
            f"{words.plural(len(rows), 'item')} of {bank.name} marked cleared before the first "
            "statement, "
            f"on {cleared_on.isoformat()}"
        ),
        after={"postings": ids, "cleared_on": cleared_on.isoformat()},
    )
    return cleared


def cleared_dates(
    entry_ids: Iterable[int], bank_account_id: int | None = None
) -> dict[int, dt.date]:
    """When each of ``entry_ids`` was cleared by the bank (those that were), by entry id."""
    qs = ClearedItem.objects.filter(entry_id__in=list(entry_ids))
    if bank_account_id is not None:
        qs = qs.filter(bank_account_id=bank_account_id)
    return dict(qs.values_list("entry_id", "cleared_on"))
