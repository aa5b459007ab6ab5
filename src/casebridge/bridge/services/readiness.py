"""The readiness check: every prerequisite of the seed, run against the live books.

Each check passes or fails with the exact fix, and names what it is needed for: ``costs``
(sending costs as check requests) or ``invoices`` (fee invoices, the bridge's part 2). A
send is refused, naming the failing check, while a check it needs fails. The report is
kept on the connection and shown until the next run; when the books cannot be reached
the last report stands, marked as such.

Only the worker runs the checks (:func:`readiness_run`, every ``BRIDGE_REFRESH_SECONDS``
and when asked: ADR 0008); a web request reads the last report (:func:`readiness_last`),
with its time, and asks for a refresh (:func:`snapshot.refresh_request`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from django.conf import settings

from casebridge.bridge.client import (
    BooksActivityCode,
    BooksAuthLapsed,
    BooksClient,
    BooksError,
    BooksUnreachable,
)
from casebridge.bridge.errors import BooksRefused, NotReady
from casebridge.bridge.models import Connection, InvoiceRelease
from casebridge.bridge.services import snapshot
from casebridge.bridge.services.connection import (
    client_for,
    connection_mark_lapsed,
    token_lapsed,
)
from casebridge.bridge.services.mappings import activity_codes_snapshot, misdirected_mappings
from casebridge.cases.models import Case, CaseStatus, User
from casebridge.core import clock, words

COSTS = "costs"
INVOICES = "invoices"


@dataclass(frozen=True)
class Check:
    key: str
    label: str
    ok: bool
    detail: str
    fix: str = ""
    needed_for: tuple[str, ...] = (COSTS, INVOICES)
    warning: bool = False


@dataclass(frozen=True)
class Readiness:
    checks: list[Check]
    live: bool = True  # False: the books could not be reached; these are the last results
    error: str = ""
    found: dict[str, Any] = field(default_factory=dict)
    #: The books' active operating bank accounts: what a cost may be paid from.
    operating_account_ids: frozenset[int] = frozenset()
    #: When the worker read the books for this report, and whether it is reading them again.
    checked_at: dt.datetime | None = None
    refreshing: bool = False

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    def failing(self, purpose: str) -> list[Check]:
        return [c for c in self.checks if not c.ok and purpose in c.needed_for]


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def find_copp(codes: list[BooksActivityCode]) -> BooksActivityCode | None:
    for c in codes:
        if c.is_active and (_norm(c.code) == "copp" or "copp" in _norm(c.name)):
            return c
    return None


def find_property_damage(codes: list[BooksActivityCode]) -> BooksActivityCode | None:
    for c in codes:
        if c.is_active and (
            "property damage" in _norm(c.name)
            or "property damage" in _norm(c.description)
            or _norm(c.code) in ("pd", "property damage")
        ):
            return c
    return None


def attorneys_with_open_cases(conn: Connection) -> list[User]:
    """Active users responsible for at least one case that is not closed. (One subquery
    over the cases: an ``exclude()`` across the multi-valued relation would drop every
    attorney who has *any* closed case.)"""
    open_cases = Case.objects.filter(firm_id=conn.firm_id).exclude(status=CaseStatus.CLOSED)
    return list(
        User.objects.filter(
            firm_id=conn.firm_id,
            is_active=True,
            pk__in=open_cases.values("responsible_attorney_id"),
        ).order_by("last_name", "first_name", "pk")
    )


def _run(conn: Connection, client: BooksClient) -> Readiness:
    checks: list[Check] = []
    found: dict[str, Any] = {}
    session = client.session_get()
    flagged = session.user_is_integration
    checks.append(
        Check(
            "integration_user",
            "Integration user signed in (security question enrolled)",
            True,
            f"Signed in to the books as {session.user_email}"
            + ("." if flagged else ", who is not marked as the designated integration user."),
            fix=""
            if flagged
            else "In the books: Gear → Users → pencil on this user → Designated integration "
            "user → Save, so that nobody mistakes it for a person's login.",
            warning=not flagged,
        )
    )
    warn_days = settings.BRIDGE_REAUTH_WARNING_DAYS
    checks.append(
        Check(
            "token",
            "Authentication valid",
            True,
            f"Lapses in {words.plural(session.days_left, 'day')} "
            f"({words.format_moment(session.expires_at)}).",
            fix="Re-authenticate now so that sending does not pause."
            if session.days_left <= warn_days
            else "",
            warning=session.days_left <= warn_days,
        )
    )

    users = {_norm(u.email): u for u in client.users() if u.is_active}
    missing, no_time = [], []
    for attorney in attorneys_with_open_cases(conn):
        books_user = users.get(_norm(attorney.email))
        label = f"{attorney.display_name} ({attorney.email})"
        if books_user is None:
            missing.append(label)
        elif not books_user.records_time:
            no_time.append(label)
    checks.append(
        Check(
            "attorney_emails",
            "Each attorney with open cases has a books user with the same email",
            not missing,
            "All attorneys found." if not missing else "No books user for: " + "; ".join(missing),
            fix=""
            if not missing
            else "In the books: Gear → Users → add the user with exactly "
            "this email (or correct the email on either side).",
        )
    )
    checks.append(
        Check(
            "records_time",
            "Those attorneys have Records Time on",
            not no_time,
            "Records Time is on for all of them."
            if not no_time
            else "Records Time is off for: " + "; ".join(no_time),
            fix=""
            if not no_time
            else "In the books: Gear → Users → pencil → Accounting → "
            "toggle on Records Time → Save.",
            needed_for=(INVOICES,),
        )
    )

    features = client.features()
    needs_release = conn.invoice_release == InvoiceRelease.REVIEW
    checks.append(
        Check(
            "release_stage",
            "Release invoice stage on (invoices go to review)",
            features.release_invoice_stage or not needs_release,
            "On."
            if features.release_invoice_stage
            else (
                "Off, and invoices are set to be reviewed."
                if needs_release
                else "Off; not needed while invoices are released automatically."
            ),
            fix=""
            if features.release_invoice_stage or not needs_release
            else (
                "In the books: Gear → Settings → Features → toggle on Enable release invoice "
                "stage in billing → Save."
            ),
            needed_for=(INVOICES,),
        )
    )

    pi = next(
        (
            a
            for a in client.areas_of_practice()
            if "personal injury" in (_norm(a.name), _norm(a.description)) or (_norm(a.name) == "pi")
        ),
        None,
    )
    found["pi_area_id"] = pi.id if pi else None
    checks.append(
        Check(
            "personal_injury",
            "Personal Injury is an area of practice",
            pi is not None,
            f"Found: {pi.name} ({pi.description})." if pi else "Not found.",
            fix=""
            if pi
            else "In the books: Gear → Areas of Practice → Add → Name PI, "
            "Description Personal Injury → Save.",
        )
    )

    codes = client.activity_codes()
    found["activity_codes"] = activity_codes_snapshot(codes)
    copp, damage = find_copp(codes), find_property_damage(codes)
    found["copp_activity_code_id"] = copp.id if copp else None
    found["pd_activity_code_id"] = damage.id if damage else None
    for key, label, code in (
        ("copp_code", "COPP activity code posting to an income account", copp),
        (
            "property_damage_code",
            "Property Damage activity code posting to an income account",
            damage,
        ),
    ):
        # the fee invoice *charges* these: its line credits the code's GL account
        ok = code is not None and code.gl_account_id is not None and code.posts_to_income
        if code is None:
            detail = "Not found."
            fix = (
                "In the books: Gear → Rates/Codes → Activity Code → Add → name, "
                "description and an income GL account → Save."
            )
        else:
            detail = f"Found: {code.code} {code.name} → GL {code.gl_account_label}."
            fix = (
                ""
                if ok
                else f"It is a charge billed on the fee invoice, so it must post to an income "
                f"account, not to {_a(code.gl_account_type or 'unknown')} account. In the "
                "books: Gear → Rates/Codes → Activity Code → pencil on "
                f"{code.code} → GL account: an income account such as "
                "COPP Charges Income → Save."
            )
        checks.append(Check(key, label, ok, detail, fix=fix, needed_for=(INVOICES,)))
    checks.append(_cost_posting_check(conn, codes))
    checks.append(_mappings_check(conn, codes))

    banks = {b.id: b for b in client.bank_accounts()}
    operating_ids = frozenset(b.id for b in banks.values() if b.kind == "operating" and b.is_active)
    for key, label, account_id, kind in (
        ("operating_account", "Default operating account", conn.operating_account_id, "operating"),
        ("trust_account", "Default client trust account", conn.trust_account_id, "trust"),
    ):
        bank = banks.get(account_id) if account_id else None
        ok = bank is not None and bank.kind == kind and bank.is_active
        if account_id is None:
            detail = "Not chosen yet."
        elif bank is None:
            detail = f"The books no longer have bank account {account_id}."
        elif bank.kind != kind:
            detail = f"{bank.name} is a {bank.kind} account, not {kind}."
        elif not bank.is_active:
            detail = f"{bank.name} is inactive in the books."
        else:
            detail = f"{bank.name}."
        checks.append(
            Check(
                key,
                label,
                ok,
                detail,
                fix=""
                if ok
                else "Account Settings → Integrations → Books → Defaults: choose "
                f"an active {kind} account.",
            )
        )
    return Readiness(checks=checks, found=found, operating_account_ids=operating_ids)


def _a(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def _cost_posting_check(conn: Connection, codes: list[BooksActivityCode]) -> Check:
    """Pop-up 2's cost posting reference: what a cost advance posts to, unless its cost
    code is mapped. Dr Advanced client costs / Cr Operating bank (domain.md section 4)."""
    label = "Cost posting reference posts to Advanced client costs"
    fix_choose = (
        "Account Settings → Integrations → Books → Defaults: choose a cost posting "
        "reference that posts to Advanced client costs."
    )
    if conn.cost_posting_code_id is None:
        return Check("cost_posting", label, False, "Not chosen yet.", fix=fix_choose)
    code = {c.id: c for c in codes}.get(conn.cost_posting_code_id)
    if code is None or not code.is_active:
        detail = (
            f"The books no longer have {words.arrows(conn.cost_posting_code_label)}."
            if code is None
            else f"{code.code} {code.name} is inactive in the books."
        )
        return Check("cost_posting", label, False, detail, fix=fix_choose)
    detail = f"{code.code} {code.name} → GL {code.gl_account_label}."
    if code.posts_to_advanced_costs:
        return Check("cost_posting", label, True, detail)
    return Check(
        "cost_posting",
        label,
        False,
        detail + f" That is {_a(code.gl_account_type or 'unknown')} account, so every cost "
        "advance would post there instead of to Advanced client costs.",
        fix=f"In the books: Gear → Rates/Codes → Activity Code → pencil on {code.code} → "
        "GL account Advanced Client Costs → Save; or " + fix_choose[0].lower() + fix_choose[1:],
    )


def _mappings_check(conn: Connection, codes: list[BooksActivityCode]) -> Check:
    wrong = misdirected_mappings(conn, codes)
    return Check(
        "cost_mappings",
        "Mapped cost codes post to Advanced client costs",
        not wrong,
        "All mapped cost codes do."
        if not wrong
        else "; ".join(f"{m.cost_code.code}: {why}" for m, why in wrong) + ".",
        fix=""
        if not wrong
        else "Account Settings → Integrations → Books → Cost code mapping: map these to a "
        "code that posts to Advanced client costs, or back to the default.",
        needed_for=(COSTS,),
    )


LAPSED = Check(
    "token",
    "Authentication valid",
    False,
    "The books token has lapsed (the monthly re-authentication).",
    fix="Account Settings → Integrations → Books → Re-authenticate: enter the integration "
    "user's password. Everything sent meanwhile waits in the queue.",
)


def _with_last(conn: Connection, first: Check | None, error: str) -> Readiness:
    """The last live report (kept, not overwritten), with ``first`` in place of its token
    check: what the screens show when the books cannot answer now."""
    rest = [c for c in readiness_last(conn).checks if first is None or c.key != first.key]
    return Readiness(checks=([first] if first else []) + rest, live=False, error=error)


def _refreshed(conn: Connection, started: dt.datetime, updates: dict[str, Any]) -> None:
    """Record the worker's attempt (and what it read); a refresh asked for before it
    started is answered, one asked for since still stands."""
    updates = {**updates, "refresh_attempted_at": clock.now()}
    Connection.objects.filter(pk=conn.pk).update(**updates)
    Connection.objects.filter(pk=conn.pk, refresh_requested_at__lte=started).update(
        refresh_requested_at=None
    )
    conn.refresh_from_db()


def readiness_run(*, conn: Connection) -> Readiness:
    """On the worker: run every check against the books now and keep the report on the
    connection, with what the screens need from the books (:mod:`.snapshot`). When the
    books cannot answer, the last report stands and the reason is kept beside it."""
    started = clock.now()
    if token_lapsed(conn):
        _refreshed(conn, started, {"refresh_error": "Re-authentication required."})
        return _with_last(conn, LAPSED, "Re-authentication required.")
    try:
        client = client_for(conn)
    except BooksRefused:  # the stored token cannot be read: as good as lapsed
        _refreshed(conn, started, {"refresh_error": "Re-authentication required."})
        return _with_last(conn, LAPSED, "Re-authentication required.")
    try:
        report = _run(conn, client)
        books = snapshot.snapshot_take(client)
    except BooksAuthLapsed:
        connection_mark_lapsed(conn=conn)
        _refreshed(conn, started, {"refresh_error": "Re-authentication required."})
        return _with_last(conn, LAPSED, "Re-authentication required.")
    except BooksError as exc:
        reason = (
            f"The books at {conn.books_url} could not be reached: {exc.message} ({exc.code})."
            if isinstance(exc, BooksUnreachable)
            else f"The books refused a readiness question: {exc.message}"
        )
        _refreshed(conn, started, {"refresh_error": reason[:1000]})
        return _with_last(conn, None, reason)
    finally:
        client.close()
    _refreshed(
        conn,
        started,
        {
            "readiness": [asdict(c) for c in report.checks],
            "readiness_checked_at": clock.now(),
            "books_snapshot": books,
            "refresh_error": "",
            **report.found,
        },
    )
    return readiness_last(conn)


def readiness_last(conn: Connection) -> Readiness:
    """The last report the worker read, with its time; never asks the books."""
    checks = [
        Check(**{**c, "needed_for": tuple(c.get("needed_for", (COSTS, INVOICES)))})
        for c in (conn.readiness or [])
    ]
    banks = snapshot.bank_accounts(conn) or []
    return Readiness(
        checks=checks,
        live=bool(conn.readiness_checked_at) and not conn.refresh_error,
        error=conn.refresh_error,
        operating_account_ids=frozenset(
            b.id for b in banks if b.kind == "operating" and b.is_active
        ),
        checked_at=conn.readiness_checked_at,
        refreshing=conn.refresh_requested_at is not None,
    )


def require_ready(*, conn: Connection, purpose: str, ignore: tuple[str, ...] = ()) -> Readiness:
    """Refuse (naming every failing check and its fix) while a check ``purpose`` needs
    fails, except the checks in ``ignore`` (which the caller asks about more precisely). A
    lapsed token does not refuse: what is sent waits for re-authentication.

    Decided on the last report the worker read, never by asking the books (ADR 0008): a
    report older than the refresh period, or one that refuses (the fix may have been made
    in the books since), asks the worker for a new one; with none yet, refuse."""
    report = readiness_last(conn)
    if snapshot.stale(conn):
        snapshot.refresh_request(conn)
    if not any(c.key != "token" for c in report.checks):
        snapshot.refresh_request(conn)
        raise NotReady(
            "the readiness check has not yet run against the books; it is running now, try "
            "again in a minute" + (f" (the last attempt: {report.error})" if report.error else "")
        )
    failing = [c for c in report.failing(purpose) if c.key != "token" and c.key not in ignore]
    if failing:
        snapshot.refresh_request(conn)
        raise NotReady(
            "not ready to send: "
            + "; ".join(f"{c.label}: {c.detail} {c.fix}".strip() for c in failing)
            + f" (as the books answered {snapshot.age_label(report.checked_at)}; they are "
            "being asked again now)",
            checks=[c.key for c in failing],
        )
    return report
