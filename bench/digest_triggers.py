"""Digest trigger bench (ADR 0035): what the maintained digests' triggers cost a write, and
what the deltas not yet compacted cost a read, on PostgreSQL.

Usage: .venv/bin/python bench/digest_triggers.py [--cases 1000] [--costs-per-case 10]
                                                 [--repeat 5] [--db-prefix NAME]

A fresh database ``<--db-prefix>_digests`` is migrated and loaded with ``--cases`` cases of
``--costs-per-case`` costs each, every cost sent (Pending, with its link), so every write
to a cost moves its case's digest. Then, each timed ``--repeat`` times (median shown):

1. one statement writing every cost (``UPDATE cases_cost SET amount_cents = ...``), with
   the digest triggers and with them disabled (the same statement's own cost): the
   triggers' cost per statement;
2. one transaction of one such statement per case (a delivery's batch, the status sync):
   the same, per statement;
3. the case digests' read (``expected_digests``, the whole-firm reconciliation's read of
   this side) with 0 deltas and with the deltas ``--rounds`` transactions like (2) leave
   before a compaction, and the compaction of those deltas.

(3) needs the delta tables (ADR 0035); on a tree without them it is skipped, so the same
script measures the triggers before and after. Figures are printed; only the check that
the digests equal their documents asserts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description="The digest triggers' cost, write and read.")
    ap.add_argument("--cases", type=int, default=1000)
    ap.add_argument("--costs-per-case", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=10, help="transactions left uncompacted (3)")
    common.add_common_arguments(ap, server=False)
    return ap


def _timed(fn) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _median(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(_timed(fn) for _ in range(repeat))


def main() -> None:
    args = build_parser().parse_args()
    var_dir = tempfile.mkdtemp(prefix="bench-digests-")
    name = f"{args.db_prefix}_digests"
    env = common.bench_env(var_dir)
    env["DATABASE_URL"] = common.database_create("postgres", var_dir, name)
    try:
        common.manage(env, "migrate")
        common.setup_django(env)
        run(args)
    finally:
        common.close_connections()
        common.database_drop("postgres", name)


def run(args: argparse.Namespace) -> None:
    from bench.bridge_costs import cases_firm_loaded
    from django.db import connection, transaction

    from casebridge.bridge.models import CostLink
    from casebridge.bridge.services import reconciliation
    from casebridge.cases.models import Cost, CostStatus

    firm, _, cost_ids = cases_firm_loaded(args.cases, args.costs_per_case)
    Cost.objects.filter(pk__in=cost_ids).update(status=CostStatus.PENDING)
    CostLink.objects.bulk_create(
        [
            CostLink(firm=firm, cost_id=pk, external_ref=f"cases-cost-{pk}", bank_account_id=1)
            for pk in cost_ids
        ],
        batch_size=5000,
    )
    case_ids = sorted(set(Cost.objects.filter(firm=firm).values_list("case_id", flat=True)))
    n = len(cost_ids)
    compact = getattr(reconciliation, "case_digests_compact", None)
    if compact is not None:
        compact()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'cases_cost'::regclass "
            "AND tgname LIKE 'bridge_casedigest_%%'"
        )
        triggers = [r[0] for r in cursor.fetchall()]

    def every_cost(by: int = 1) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE cases_cost SET amount_cents = amount_cents + %s WHERE firm_id = %s",
                [by, firm.pk],
            )

    def per_case() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            for case_id in case_ids:
                cursor.execute(
                    "UPDATE cases_cost SET amount_cents = amount_cents + 1 WHERE case_id = %s",
                    [case_id],
                )

    def triggers_enabled(on: bool) -> None:
        with connection.cursor() as cursor:
            for trigger in triggers:
                state = "ENABLE" if on else "DISABLE"
                cursor.execute(f"ALTER TABLE cases_cost {state} TRIGGER {trigger}")

    tag = "[postgres]"
    print(
        f"{tag} {args.cases:,} cases, {n:,} sent costs; digest triggers on cases_cost: "
        f"{len(triggers)}; compaction: {'yes' if compact else 'no (before ADR 0035)'}"
    )
    for label, fn, statements in [
        (f"(1) one statement writing {n:,} costs", every_cost, 1),
        (
            f"(2) one transaction of {len(case_ids):,} statements (one per case)",
            per_case,
            len(case_ids),
        ),
    ]:
        # interleaved, so both see the same load; without the triggers each write is
        # undone (untimed) so that the digests stay equal to their documents
        with_triggers, without = [], []
        for _ in range(args.repeat):
            with_triggers.append(_timed(fn))
            triggers_enabled(False)
            try:
                without.append(_timed(fn))
                every_cost(-1)
            finally:
                triggers_enabled(True)
        on, off = statistics.median(with_triggers), statistics.median(without)
        print(
            f"{tag} {label}: {on * 1000:.1f} ms with the digest triggers, "
            f"{off * 1000:.1f} ms without (medians of {args.repeat}): the triggers "
            f"{(on - off) * 1000:.1f} ms ({(on - off) * 1e6 / statements:.0f} us per "
            f"statement, {(on - off) * 1e6 / n:.1f} us per row)"
        )
    if compact is not None:
        compact()
        read0 = _median(lambda: reconciliation.expected_digests(firm), args.repeat)
        for _ in range(args.rounds):
            per_case()
        from casebridge.bridge.models import CaseDigestDelta

        deltas = CaseDigestDelta.objects.count()
        read_n = _median(lambda: reconciliation.expected_digests(firm), args.repeat)
        start = time.perf_counter()
        folded = compact()
        compacting = time.perf_counter() - start
        read_after = _median(lambda: reconciliation.expected_digests(firm), args.repeat)
        print(
            f"{tag} (3) case digests read ({len(case_ids):,} cases): {read0 * 1000:.1f} ms "
            f"compacted; {read_n * 1000:.1f} ms with {deltas:,} deltas "
            f"({deltas / len(case_ids):.0f} per case); compaction of {folded:,} deltas "
            f"{compacting * 1000:.1f} ms; read after {read_after * 1000:.1f} ms"
        )
    drifted = len(reconciliation.case_digests_drift(firm=firm))
    print(f"{tag} check: {drifted} case digests differ from their documents")
    assert drifted == 0, "the maintained digests drifted from the documents"


if __name__ == "__main__":
    main()
