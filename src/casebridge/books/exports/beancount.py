"""The books as Beancount text (issue 15), so an independent engine can check them.

:func:`beancount_export` checks the caller and the range, then returns a generator of
lines that reads the firm's postings in entry order through one streamed query
(``.iterator()``: a server-side cursor on PostgreSQL), so memory stays flat however many
postings there are; only the account and client-ledger names are held. What it writes:

- ``option "title"`` and ``option "operating_currency" "USD"``;
- an ``open`` for every GL account used (its type's root: Assets, Liabilities, Equity,
  Income, Expenses; the name ``<Root>:<number>-<Name>``, e.g. ``Assets:1000-Operating-Bank``)
  and for every client trust sub-ledger, a sub-account of its trust liability account named
  by the file's number, never the client's (``Liabilities:2100-Client-Trust-Liability:
  F-2026-00007``), all dated the export's first day;
- for a range, an opening-balance transaction on its first day: every account's balance
  of the day before, against ``Equity:Opening-Balances``;
- one transaction per journal entry (a reversed entry and its reversal both), its memo as
  the narration, the check's payee or the receipt's payer as the payee, and metadata back
  to the books: ``entry`` (the entry's id), ``file`` (the file number), ``external_ref``,
  ``reverses`` / ``reversed_by``, ``source``; amounts as exact two-place decimals in USD;
- ``balance`` assertions on the first day of each month and the day after the export's
  last day, for every account and sub-ledger opened: the books' own balances as of the day
  before (``selectors.reports``: ``gl_balances`` and ``trust_balances_page``), not sums of
  the lines written, so Beancount checks the export against the books' reports.

Everything is read in one transaction (REPEATABLE READ on PostgreSQL, a read transaction
on SQLite), so an entry posted while the export runs is in every figure or in none.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Exists, Max, Min, OuterRef
from django.db.models.functions import Coalesce

from casebridge.books.errors import ValidationFailed
from casebridge.books.models import (
    AccountType,
    BankAccount,
    BankAccountKind,
    Firm,
    GLAccount,
    JournalEntry,
    Posting,
    Role,
    TrustLedger,
    User,
)
from casebridge.books.roles import require_role
from casebridge.books.selectors import reports

CURRENCY = "USD"
OPENING_BALANCES = "Equity:Opening-Balances"
#: The root each account type lives under.
ROOTS: dict[str, str] = {
    AccountType.ASSET: "Assets",
    AccountType.LIABILITY: "Liabilities",
    AccountType.EQUITY: "Equity",
    AccountType.INCOME: "Income",
    AccountType.EXPENSE: "Expenses",
}
#: Rows fetched per round trip of the streamed postings query.
CHUNK_ROWS = 2000
#: Client ledgers read per page for a month's balance assertions.
LEDGER_PAGE = 5000


# --- names and strings ------------------------------------------------------------------


def component(text: str, *, fallback: str = "X") -> str:
    """``text`` as one Beancount account component: accents folded to ASCII (``Peña`` ->
    ``Pena``), every run of other characters a single hyphen, no hyphen at either end, the
    first letter a capital; ``fallback`` when nothing is left. Beancount wants a component
    to start with a capital letter or a digit and hold only letters, digits and hyphens."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    out: list[str] = []
    for char in folded:
        if char.isascii() and char.isalnum():
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    name = "".join(out).strip("-")
    if not name:
        return fallback
    return name[0].upper() + name[1:]


def _tag(text: str) -> str:
    """A short, stable mark of ``text`` (told apart when two names sanitise alike)."""
    return hashlib.sha256(text.encode()).hexdigest()[:6].upper()


class Names:
    """Gives each key a unique account name: the name asked for, or, when another key
    already has it, the name with a hyphen and a stable tag of the key's own text (then a
    counter, should even that be taken)."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, wanted: str, distinguisher: str) -> str:
        name = wanted
        if name in self.taken:
            name = f"{wanted}-{_tag(distinguisher)}"
            n = 2
            while name in self.taken:
                name = f"{wanted}-{_tag(distinguisher)}-{n}"
                n += 1
        self.taken.add(name)
        return name


def gl_account_names(accounts: Iterable[GLAccount]) -> dict[int, str]:
    """Every account's Beancount name, by id: ``<Root>:<number>-<Name>``. Given the whole
    chart in number order, so an account's name does not depend on the range exported."""
    names = Names()
    return {
        a.pk: names.claim(
            f"{ROOTS[a.type]}:{component(f'{a.number}-{a.name}')}", f"{a.number}\x00{a.name}"
        )
        for a in sorted(accounts, key=lambda a: a.number)
    }


def file_component(number: str) -> str:
    """A file's sub-account component: ``F-`` and its number (``F-2026-00007``)."""
    return component(f"F-{number}")


def quoted(text: str) -> str:
    """``text`` as a Beancount string: backslashes and double quotes escaped, line breaks
    and other control characters made spaces (a narration is one line)."""
    flat = text
    if not text.isprintable():  # rare: look at each character only then
        flat = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return '"' + flat.replace("\\", "\\\\").replace('"', '\\"') + '"'


def amount(cents: int) -> str:
    """Cents as an exact two-place decimal amount: ``-1234.56 USD``."""
    return f"{Decimal(cents).scaleb(-2)} {CURRENCY}"


# --- the export --------------------------------------------------------------------------


#: The dates an export may name: the month arithmetic (the day before the start, the
#: first of the month after the end) stays within Python's dates.
EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2999, 12, 31)


def beancount_export(
    *,
    firm: Firm,
    actor: User | None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> Iterator[str]:
    """The firm's books from ``start`` to ``end`` (both included; either open) as
    Beancount lines, each ending in a newline. The caller needs the accountant role or
    above (403 ``role_required``); ``start`` after ``end`` is refused (422 on ``to``).
    Both are checked here, before the first line is asked for."""
    require_role(actor, Role.ACCOUNTANT, doing="Exporting the books")
    for name, day in (("from", start), ("to", end)):
        if day is not None and not EARLIEST <= day <= LATEST:
            raise ValidationFailed(
                f"the {'start' if name == 'from' else 'end'} ({day.isoformat()}) is outside "
                f"{EARLIEST.isoformat()} to {LATEST.isoformat()}",
                field=name,
            )
    if start is not None and end is not None and start > end:
        raise ValidationFailed(
            f"the end ({end.isoformat()}) is before the start ({start.isoformat()})",
            field="to",
        )
    return _in_one_snapshot(firm, start, end)


def download_name(firm: Firm, start: dt.date | None, end: dt.date | None) -> str:
    """``books-smith-pi-20260101-20260331.beancount`` (``start`` / ``end`` when open)."""
    stem = component(firm.code).lower()
    first = f"{start:%Y%m%d}" if start else "start"
    last = f"{end:%Y%m%d}" if end else "end"
    return f"books-{stem}-{first}-{last}.beancount"


def chunked(lines: Iterable[str], size: int = 64 * 1024) -> Iterator[bytes]:
    """Lines joined into UTF-8 chunks of about ``size`` bytes, for a streamed response."""
    buffer: list[str] = []
    held = 0
    for line in lines:
        buffer.append(line)
        held += len(line)
        if held >= size:
            yield "".join(buffer).encode()
            buffer, held = [], 0
    if buffer:
        yield "".join(buffer).encode()


def _in_one_snapshot(firm: Firm, start: dt.date | None, end: dt.date | None) -> Iterator[str]:
    outermost = not connection.in_atomic_block
    if outermost and connection.vendor == "sqlite":
        # A read transaction (WAL: a snapshot from the first read), not Django's atomic():
        # this project's SQLite transactions begin IMMEDIATE, which would hold the write
        # lock for the whole download and make every writer wait.
        connection.ensure_connection()
        with connection.cursor() as cursor:
            cursor.execute("BEGIN DEFERRED")
        try:
            yield from _Export(firm, start, end).lines()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("ROLLBACK")  # nothing was written
        return
    with transaction.atomic():
        if outermost and connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield from _Export(firm, start, end).lines()


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _month_end(day: dt.date) -> dt.date:
    return _next_month(day) - dt.timedelta(days=1)


@dataclass
class _Entry:
    """One journal entry's rows while they are read."""

    id: int
    date: dt.date
    memo: str
    source: str
    reverses_id: int | None
    reversed_by_id: int | None
    payee: str | None
    external_ref: str | None
    postings: list[tuple[str, int, str | None, str]] = field(default_factory=list)


@dataclass
class _Export:
    firm: Firm
    start: dt.date | None
    end: dt.date | None
    gl_names: dict[int, str] = field(default_factory=dict)
    #: the accounts opened (used up to the end), in number order
    opened: list[GLAccount] = field(default_factory=list)
    #: (trust bank account id, file id) -> sub-account name, for every client ledger used
    ledger_names: dict[tuple[int, int], str] = field(default_factory=dict)
    #: trust ledger id -> (its trust liability account's id, its sub-account name)
    ledger_by_id: dict[int, tuple[int, str]] = field(default_factory=dict)

    def lines(self) -> Iterator[str]:
        firm = self.firm
        yield f"; The books of {firm.name} ({firm.code}), exported by Casebridge\n"
        yield f"option {quoted('title')} {quoted(firm.name)}\n"
        yield f"option {quoted('operating_currency')} {quoted(CURRENCY)}\n\n"
        entries = JournalEntry.objects.filter(firm=firm)
        if self.end is not None:
            entries = entries.filter(date__lte=self.end)
        span = entries.aggregate(first=Min("date"), last=Max("date"))
        if span["first"] is None:
            return  # nothing posted up to the end: nothing to open
        first_day = self.start or span["first"]
        # the whole ledger closes with its last month; a range on its last day
        # (a range starting after the last entry holds its opening balances only)
        last_day = max(self.end or _month_end(span["last"]), first_day)
        self._name_accounts()
        yield from self._opens(first_day)
        if self.start is not None:
            yield from self._opening_balances(self.start)
        checks = self._assertion_days(first_day, last_day)
        for entry in self._entries():
            while checks and checks[0] <= entry.date:
                yield from self._assertions(checks.pop(0))
            yield from self._transaction(entry)
        for day in checks:
            yield from self._assertions(day)

    # -- accounts -------------------------------------------------------------------------

    def _name_accounts(self) -> None:
        firm, end = self.firm, self.end
        chart = list(GLAccount.objects.filter(firm=firm).order_by("number"))
        self.gl_names = gl_account_names(chart)
        used = Posting.objects.filter(account=OuterRef("pk"))
        if end is not None:
            used = used.filter(entry__date__lte=end)
        used_ids = set(
            GLAccount.objects.filter(firm=firm).filter(Exists(used)).values_list("pk", flat=True)
        )
        self.opened = [a for a in chart if a.pk in used_ids]
        ledger_postings = Posting.objects.filter(trust_ledger=OuterRef("pk"))
        if end is not None:
            ledger_postings = ledger_postings.filter(entry__date__lte=end)
        ledgers = (
            TrustLedger.objects.filter(firm=firm)
            .filter(Exists(ledger_postings))
            .values_list(
                "pk",
                "bank_account_id",
                "bank_account__trust_liability_account_id",
                "file_id",
                "file__number",
            )
            .order_by("bank_account_id", "file__number", "file_id")
        )
        names: dict[int, Names] = {}
        for ledger_id, bank_id, liability_id, file_id, number in ledgers.iterator(CHUNK_ROWS):
            parent = self.gl_names[liability_id]
            sub = names.setdefault(bank_id, Names()).claim(file_component(number), number)
            name = f"{parent}:{sub}"
            self.ledger_names[(bank_id, file_id)] = name
            self.ledger_by_id[ledger_id] = (liability_id, name)

    def _opens(self, day: dt.date) -> Iterator[str]:
        for account in self.opened:
            yield f"{day} open {self.gl_names[account.pk]} {CURRENCY}\n"
        for name in self.ledger_names.values():
            yield f"{day} open {name} {CURRENCY}\n"
        if self.start is not None:
            yield f"{day} open {OPENING_BALANCES} {CURRENCY}\n"
        yield "\n"

    # -- balances, from the books' own reports ---------------------------------------------

    def _gl_balances(self, as_of: dt.date) -> dict[int, int]:
        return reports.gl_balances(firm=self.firm, accounts=self.opened, as_of=as_of)

    def _ledger_balances(self, as_of: dt.date) -> Iterator[tuple[str, int]]:
        """Each client ledger opened, with its balance as of ``as_of`` (credit-normal)."""
        banks = BankAccount.objects.filter(firm=self.firm, kind=BankAccountKind.TRUST)
        for bank_id in banks.order_by("pk").values_list("pk", flat=True):
            after = 0
            while True:
                page = reports.trust_balances_page(
                    firm=self.firm,
                    bank_account_id=bank_id,
                    after_file_id=after,
                    limit=LEDGER_PAGE,
                    as_of=as_of,
                )
                for file_id, _number, balance in page:
                    name = self.ledger_names.get((bank_id, file_id))
                    if name is not None:
                        yield name, balance
                if len(page) < LEDGER_PAGE:
                    break
                after = page[-1][0]

    def _assertion_days(self, first_day: dt.date, last_day: dt.date) -> list[dt.date]:
        """The first day of each month after ``first_day`` up to the day after
        ``last_day``, and that day itself (when a range ends within a month)."""
        days = []
        month = dt.date(first_day.year, first_day.month, 1)
        closing = last_day + dt.timedelta(days=1)
        while True:
            month = _next_month(month)
            if month > closing:
                break
            days.append(month)
        if not days or days[-1] != closing:
            days.append(closing)
        return days

    def _assertions(self, day: dt.date) -> Iterator[str]:
        """Beancount checks a balance before the day's transactions: as of the day before."""
        as_of = day - dt.timedelta(days=1)
        balances = self._gl_balances(as_of)
        for account in self.opened:
            yield f"{day} balance {self.gl_names[account.pk]} {amount(balances[account.pk])}\n"
        for name, balance in self._ledger_balances(as_of):
            yield f"{day} balance {name} {amount(-balance)}\n"
        yield "\n"

    def _opening_balances(self, start: dt.date) -> Iterator[str]:
        as_of = start - dt.timedelta(days=1)
        lines: list[tuple[str, int]] = []
        held_in_ledgers: dict[str, int] = {}
        for name, balance in self._ledger_balances(as_of):
            if balance:
                lines.append((name, -balance))
                parent = name.rsplit(":", 1)[0]
                held_in_ledgers[parent] = held_in_ledgers.get(parent, 0) - balance
        balances = self._gl_balances(as_of)
        for account in self.opened:
            name = self.gl_names[account.pk]
            # a client trust account's balance is its ledgers'; only a remainder is its own
            own = balances[account.pk] - held_in_ledgers.get(name, 0)
            if own:
                lines.append((name, own))
        yield f'{start} * "Opening balances"\n'
        yield f"  as_of: {quoted(as_of.isoformat())}\n"
        for name, cents in sorted(lines):
            yield f"  {name}  {amount(cents)}\n"
        yield f"  {OPENING_BALANCES}  {amount(-sum(c for _, c in lines))}\n\n"

    # -- the journal ------------------------------------------------------------------------

    def _entries(self) -> Iterator[_Entry]:
        """The firm's entries in the range with their postings, in (date, id) order: one
        streamed query of postings, grouped as they come."""
        qs = Posting.objects.filter(entry__firm=self.firm)
        if self.start is not None:
            qs = qs.filter(entry__date__gte=self.start)
        if self.end is not None:
            qs = qs.filter(entry__date__lte=self.end)
        rows = (
            qs.annotate(
                payee=Coalesce(
                    "entry__check_issued__payee",
                    "entry__check_voided__payee",
                    "entry__receipt__payer",
                    "entry__receipt_voided__payer",
                ),
                ref=Coalesce(
                    "entry__check_issued__external_ref",
                    "entry__check_voided__external_ref",
                    "entry__receipt__external_ref",
                    "entry__receipt_voided__external_ref",
                    "entry__invoice__external_ref",
                    "entry__invoice_voided__external_ref",
                ),
            )
            .values_list(
                "entry_id",
                "entry__date",
                "entry__memo",
                "entry__source",
                "entry__reverses_id",
                "entry__reversed_by__id",
                "payee",
                "ref",
                "account_id",
                "trust_ledger_id",
                "file__number",
                "debit_cents",
                "credit_cents",
                "memo",
            )
            .order_by("entry__date", "entry_id", "pk")
        )
        current: _Entry | None = None
        for row in rows.iterator(CHUNK_ROWS):
            entry_id = row[0]
            if current is None or current.id != entry_id:
                if current is not None:
                    yield current
                current = _Entry(entry_id, *row[1:8])
            account_id, ledger_id, number, debit, credit, memo = row[8:]
            # a client's sub-account for the postings to its trust liability account only
            parent_id, sub = self.ledger_by_id.get(ledger_id, (None, None))
            name = sub if account_id == parent_id else None
            current.postings.append(
                (name or self.gl_names[account_id], debit - credit, number, memo)
            )
        if current is not None:
            yield current

    def _transaction(self, entry: _Entry) -> Iterator[str]:
        head = f"{entry.date} *"
        if entry.payee:
            head += f" {quoted(entry.payee)}"
        yield f"{head} {quoted(entry.memo)}\n"
        yield f'  entry: "{entry.id}"\n'
        files = list(dict.fromkeys(number for _, _, number, _ in entry.postings if number))
        if len(files) == 1:
            yield f"  file: {quoted(files[0])}\n"
        if entry.external_ref:
            yield f"  external_ref: {quoted(entry.external_ref)}\n"
        if entry.reverses_id:
            yield f'  reverses: "{entry.reverses_id}"\n'
        if entry.reversed_by_id:
            yield f'  reversed_by: "{entry.reversed_by_id}"\n'
        if entry.source:
            yield f"  source: {quoted(entry.source)}\n"
        for name, cents, number, memo in entry.postings:
            yield f"  {name}  {amount(cents)}\n"
            if number and len(files) > 1:
                yield f"    file: {quoted(number)}\n"
            if memo and memo not in (entry.memo, entry.payee):
                yield f"    memo: {quoted(memo)}\n"
        yield "\n"
