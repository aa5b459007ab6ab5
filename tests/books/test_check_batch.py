"""Many check requests at once (``check_requests_find_or_create``): the same checks,
entries, balances and refusals as the requests one by one, posted together."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

from django.db import transaction

from casebridge.books.errors import ExternalRefConflict, TrustOverdraw, ValidationFailed
from casebridge.books.models import (
    ActivityCode,
    BankAccount,
    BankAccountKind,
    Check,
    File,
    Firm,
    GLAccount,
    JournalEntry,
    TrustLedger,
    User,
)
from casebridge.books.services import auth, checks, files, setup
from casebridge.books.services.checks import CheckRequest
from casebridge.core.models import AuditEvent
from tests.books.ledger_helpers import D, assert_books_consistent, deposit, refused, trust_balance
from tests.conftest import PASSWORD


def _books(firm: Firm, actor: User) -> dict[str, Any]:
    """Five files (three funded in trust) in ``firm``, by external_ref."""
    trust = BankAccount.objects.get(firm=firm, kind=BankAccountKind.TRUST)
    by_ref: dict[str, File] = {}
    for n in range(5):
        client, _ = files.contact_find_or_create(
            firm=firm, actor=actor, name=f"Client {n}", external_ref=f"client-{n}"
        )
        file, _ = files.file_find_or_create(
            firm=firm,
            actor=actor,
            name=f"Case {n}",
            client=client,
            external_ref=f"case-{n}",
            opened_on=dt.date(2026, 1, 5),
        )
        by_ref[file.external_ref or ""] = file
        if n < 3:
            deposit(firm, actor, trust, file, 5_000_000)
    return {
        "operating": BankAccount.objects.get(firm=firm, kind=BankAccountKind.OPERATING),
        "trust": trust,
        "files": by_ref,
        "codes": {c.code: c for c in ActivityCode.objects.filter(firm=firm)},
    }


def _requests(books: dict[str, Any], n: int, seed: int = 7) -> list[CheckRequest]:
    """``n`` mixed requests: operating costs (with a file or not) and trust checks on the
    funded files, most with an external_ref, dated over a few days."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        ref = f"cost-{i}" if i % 7 else None
        day = D + dt.timedelta(days=i % 4)
        if i % 3 == 0:
            file = books["files"][f"case-{rnd.randrange(3)}"]
            out.append(
                CheckRequest(
                    bank_account_id=books["trust"].pk,
                    payee=f"Lien holder {i % 11}",
                    amount_cents=rnd.randrange(1, 20_000),
                    file_id=file.pk,
                    memo=f"lien {i}",
                    request_date=day,
                    external_ref=ref,
                )
            )
        else:
            file = books["files"][f"case-{rnd.randrange(5)}"] if i % 5 else None
            out.append(
                CheckRequest(
                    bank_account_id=books["operating"].pk,
                    payee=f"Vendor {i % 13}",
                    amount_cents=rnd.randrange(1, 500_000),
                    file_id=file.pk if file else None,
                    activity_code_id=books["codes"][rnd.choice(["E101", "E112", "E124"])].pk,
                    memo=f"cost {i}" if i % 2 else "",
                    posting_reference="COST" if i % 4 == 0 else "",
                    request_date=day,
                    external_ref=ref,
                )
            )
    return out


def _one_by_one(firm: Firm, actor: User, requests: list[CheckRequest]) -> list[tuple[Check, bool]]:
    return [
        checks.check_request_find_or_create(
            firm=firm,
            actor=actor,
            bank_account_id=r.bank_account_id,
            payee=r.payee,
            amount_cents=r.amount_cents,
            file_id=r.file_id,
            activity_code_id=r.activity_code_id,
            memo=r.memo,
            posting_reference=r.posting_reference,
            request_date=r.request_date,
            external_ref=r.external_ref,
        )
        for r in requests
    ]


def _check_facts(check: Check) -> tuple[object, ...]:
    entry = check.entry
    return (
        check.bank_account.kind,
        check.file.external_ref if check.file else None,
        check.payee,
        check.amount_cents,
        check.activity_code.code if check.activity_code else None,
        check.memo,
        check.posting_reference,
        check.external_ref,
        check.status,
        check.request_date,
        (entry.date, entry.memo, entry.posting_reference, entry.source),
        sorted(
            (
                p.account.number,
                p.file.external_ref if p.file else None,
                p.debit_cents,
                p.credit_cents,
                p.memo,
            )
            for p in entry.postings.select_related("account", "file")
        ),
    )


def _balances(firm: Firm) -> dict[str, object]:
    return {
        "gl": dict(GLAccount.objects.filter(firm=firm).values_list("number", "balance_cents")),
        "trust": sorted(
            TrustLedger.objects.filter(firm=firm).values_list(
                "file__external_ref", "bank_account__name", "balance_cents"
            )
        ),
        "check_entries": JournalEntry.objects.filter(firm=firm, source="check").count(),
        "checks": Check.objects.filter(firm=firm).count(),
    }


def _check_audit(firm: Firm) -> list[tuple[str, object]]:
    return sorted(
        (e.summary, sorted(e.after.items()))
        for e in AuditEvent.objects.filter(firm_id=firm.pk, entity_type="check", action="create")
    )


def test_a_batch_of_300_gives_what_300_single_requests_give(firm, admin):
    twin = setup.firm_create(code="smith-pi-twin", name="Smith Personal Injury LLP (twin)")
    twin_admin = auth.user_create(
        firm=twin, email="admin@twin.test", password=PASSWORD, is_admin=True
    )
    one, batch = _books(firm, admin), _books(twin, twin_admin)
    singles, batched = _requests(one, 300), _requests(batch, 300)
    # a third of them are already in both books (sent before), so are found, not posted
    already = [i for i in range(300) if i % 3 == 1 and singles[i].external_ref]
    _one_by_one(firm, admin, [singles[i] for i in already])
    before = _one_by_one(twin, twin_admin, [batched[i] for i in already])

    expected = _one_by_one(firm, admin, singles)
    results = checks.check_requests_find_or_create(firm=twin, actor=twin_admin, requests=batched)

    assert [created for _, created in results] == [created for _, created in expected]
    assert sum(1 for _, created in results if created) == 300 - len(already)
    found = {batched[i].external_ref: c.pk for i, (c, _) in zip(already, before, strict=True)}
    for request, (check, created) in zip(batched, results, strict=True):
        if not created:
            assert check.pk == found[request.external_ref]
    assert [_check_facts(Check.objects.get(pk=c.pk)) for c, _ in results] == [
        _check_facts(c) for c, _ in expected
    ]
    assert _balances(twin) == _balances(firm)
    assert _check_audit(twin) == _check_audit(firm)
    # one balanced entry of its own per new check
    new_entries = [c.entry_id for c, created in results if created]
    assert len(set(new_entries)) == len(new_entries)
    assert_books_consistent(twin)

    # sent again, the batch finds every check it has an external_ref for and posts nothing
    counts = _balances(twin)
    with_ref = [(r, c) for r, (c, _) in zip(batched, results, strict=True) if r.external_ref]
    again = checks.check_requests_find_or_create(
        firm=twin, actor=twin_admin, requests=[r for r, _ in with_ref]
    )
    assert [(c.pk, created) for c, created in again] == [(c.pk, False) for _, c in with_ref]
    assert _balances(twin) == counts


def test_a_trust_batch_overdrawing_together_is_refused_at_the_item_and_writes_nothing(
    firm, admin, operating, trust, client_file
):
    deposit(firm, admin, trust, client_file, 100_000)
    code = ActivityCode.objects.get(firm=firm, code="E101")
    cost = CheckRequest(
        bank_account_id=operating.pk,
        payee="Records Inc",
        amount_cents=2_500,
        file_id=client_file.pk,
        activity_code_id=code.pk,
        request_date=D,
    )
    lien = CheckRequest(
        bank_account_id=trust.pk,
        payee="Valley Medical",
        amount_cents=60_000,
        file_id=client_file.pk,
        request_date=D,
    )
    second = replace(lien, payee="Lopez", amount_cents=50_000)
    # each trust check alone is within the 1,000.00 (tried, then rolled back) ...
    for alone in (lien, second):
        savepoint = transaction.savepoint()
        [(_, created)] = checks.check_requests_find_or_create(
            firm=firm, actor=admin, requests=[alone]
        )
        assert created
        transaction.savepoint_rollback(savepoint)
    # ... together they are not: the second is refused, and nothing is written
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.check_requests_find_or_create(
            firm=firm, actor=admin, requests=[cost, lien, cost, second]
        )
    assert info.value.details == {
        "available_cents": 40_000,
        "requested_cents": 50_000,
        "file_id": client_file.pk,
        "index": 3,
    }
    assert info.value.message == (
        f"file {client_file.number} has $400.00 available in trust; $500.00 was requested"
    )
    assert trust_balance(client_file, trust) == 100_000


def test_the_first_refusal_in_order_wins_and_names_its_item(
    firm, admin, operating, trust, client_file
):
    code = ActivityCode.objects.get(firm=firm, code="E101")
    cost = CheckRequest(
        bank_account_id=operating.pk,
        payee="Records Inc",
        amount_cents=2_500,
        file_id=client_file.pk,
        activity_code_id=code.pk,
        request_date=D,
        external_ref="cost-1",
    )
    overdraw = CheckRequest(
        bank_account_id=trust.pk, payee="Lopez", amount_cents=1, file_id=client_file.pk
    )
    # a later item's own refusal does not hide an earlier item's overdraw
    with refused(TrustOverdraw, code="insufficient_trust_funds") as info:
        checks.check_requests_find_or_create(
            firm=firm,
            actor=admin,
            requests=[cost, overdraw, replace(cost, payee=" ", external_ref=None)],
        )
    assert info.value.details["index"] == 1
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_requests_find_or_create(
            firm=firm,
            actor=admin,
            requests=[cost, replace(cost, external_ref="cost-2", activity_code_id=None)],
        )
    assert (info.value.message, info.value.field, info.value.details) == (
        "an activity code is required for an operating check",
        "activity_code",
        {"index": 1},
    )
    with refused(ValidationFailed, code="validation_error") as info:
        checks.check_requests_find_or_create(
            firm=firm, actor=admin, requests=[cost, replace(cost, external_ref=" cost-1 ")]
        )
    assert (info.value.field, info.value.details) == ("external_ref", {"index": 1})

    [(check, created)] = checks.check_requests_find_or_create(
        firm=firm, actor=admin, requests=[cost]
    )
    assert created
    with refused(ExternalRefConflict, code="external_ref_conflict") as info:
        checks.check_requests_find_or_create(
            firm=firm,
            actor=admin,
            requests=[replace(cost, external_ref="cost-3"), replace(cost, amount_cents=1)],
        )
    assert info.value.details == {"check_id": check.pk, "differing": ["amount"], "index": 1}
