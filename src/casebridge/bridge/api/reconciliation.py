"""The screens' twins for the reconciliation with the books and the cost code mapping
(issue 14): run a reconciliation (202, the worker runs it: no request waits on the books),
read the last one and its differences, fix a difference; read the cost code mapping and
map a cost code. Administrators and the administration settings permission (else 403
``permission_denied`` naming it), as on the screens."""

from __future__ import annotations

import datetime as dt

from django.http import HttpRequest
from ninja import Query, Router, Status
from pydantic import Field

from casebridge.bridge.api.idempotency import idempotent
from casebridge.bridge.models import (
    DifferenceFix,
    DifferenceKind,
    ReconciliationDifference,
    ReconciliationRun,
    RunState,
)
from casebridge.bridge.services import connection as conn_services
from casebridge.bridge.services import mappings as mapping_services
from casebridge.bridge.services import reconciliation
from casebridge.cases.api.security import context
from casebridge.cases.models import Case, CostCode
from casebridge.cases.permissions import require_settings_access
from casebridge.core.api.lookups import get_or_404
from casebridge.core.api.schemas import ERRORS, Clean, Id, In, Out, Page, PageIn, keyset_page, money

router = Router(tags=["books integration"])


# --- Reconciliation ---------------------------------------------------------------------------


class RunOut(Out):
    id: int
    case_id: int | None = Field(description="The case a run of one case compared; null: the firm.")
    state: RunState = Field(
        description="queued or running: the worker is on it (poll GET "
        "/reconciliation/runs/{id}); done; failed (error says why)."
    )
    started_at: dt.datetime
    finished_at: dt.datetime | None
    cases_compared: int
    documents_compared: int
    in_flight: int = Field(description="Sent, not yet answered by the books: not differences.")
    differences: int
    clean: bool = Field(description="Finished without error and found no difference.")
    error: str


def _run_out(run: ReconciliationRun) -> RunOut:
    return RunOut(
        id=run.pk,
        case_id=run.case_id,
        state=RunState(run.state),
        started_at=run.started_at,
        finished_at=run.finished_at,
        cases_compared=run.cases_compared,
        documents_compared=run.documents_compared,
        in_flight=run.in_flight,
        differences=run.differences,
        clean=run.is_clean,
        error=run.error,
    )


class RunIn(In):
    case_id: Id | None = Field(None, description="One case; leave out for the whole firm.")


@router.post(
    "/reconciliation/runs", response={202: RunOut, **ERRORS}, summary="Run the reconciliation"
)
@idempotent
def reconciliation_run(request: HttpRequest, payload: RunIn) -> Status[RunOut]:
    """Queues a reconciliation of the firm (or of ``case_id``) for the worker; 202 with the
    run: poll ``GET /reconciliation/runs/{id}``. 409 ``not_connected`` before activation."""
    ctx = context(request)
    require_settings_access(ctx.user)
    if payload.case_id is not None:
        get_or_404(Case.objects.filter(firm=ctx.firm), payload.case_id, field="case_id")
    run = reconciliation.reconciliation_request(
        firm=ctx.firm, actor=ctx.user, case_id=payload.case_id
    )
    run.refresh_from_db()
    return Status(202, _run_out(run))


@router.get("/reconciliation/runs/{int:run_id}", response={200: RunOut, **ERRORS}, summary="A run")
def reconciliation_run_get(request: HttpRequest, run_id: Id) -> RunOut:
    ctx = context(request)
    require_settings_access(ctx.user)
    return _run_out(
        get_or_404(ReconciliationRun.objects.filter(firm=ctx.firm), run_id, field="run_id")
    )


class DifferenceOut(Out):
    id: int
    case_id: int | None
    kind: DifferenceKind
    subject: str = Field(description='What is compared, as the user knows it ("Cost 12: ...").')
    cause: str
    cases_amount: str | None = Field(description="What the cases side holds, if an amount.")
    books_amount: str | None = Field(description="What the books hold, if an amount.")
    fix: DifferenceFix | None = Field(
        description="What POST /reconciliation/differences/{id}/fix does; null: nothing to do "
        "from here."
    )
    fixed_at: dt.datetime | None


def _amount(cents: int | None) -> str | None:
    return None if cents is None else money(cents)


def _difference_out(diff: ReconciliationDifference) -> DifferenceOut:
    return DifferenceOut(
        id=diff.pk,
        case_id=diff.case_id,
        kind=DifferenceKind(diff.kind),
        subject=diff.subject,
        cause=diff.cause,
        cases_amount=_amount(diff.cases_cents),
        books_amount=_amount(diff.books_cents),
        fix=DifferenceFix(diff.fix) if diff.fix else None,
        fixed_at=diff.fixed_at,
    )


class LastRunIn(Clean):
    case_id: Id | None = Field(None, description="One case's last run; leave out: the firm's.")
    kind: DifferenceKind | None = Field(None, description="Only differences of this kind.")


class LastRunOut(Out):
    run: RunOut | None = Field(description="The last finished run; null: none yet.")
    pending: RunOut | None = Field(description="A run the worker has not finished yet.")
    differences: Page[DifferenceOut]


@router.get(
    "/reconciliation", response={200: LastRunOut, **ERRORS}, summary="The last reconciliation"
)
def reconciliation_get(
    request: HttpRequest, page: Query[PageIn], params: Query[LastRunIn]
) -> LastRunOut:
    """The last finished reconciliation of the firm (or of ``case_id``), a page of its
    differences, and any run still pending."""
    ctx = context(request)
    require_settings_access(ctx.user)
    case = (
        get_or_404(Case.objects.filter(firm=ctx.firm), params.case_id, field="case_id")
        if params.case_id is not None
        else None
    )
    run = reconciliation.last_run(ctx.firm, case)
    pending = reconciliation.pending_run(ctx.firm, case)
    rows: list[ReconciliationDifference] = []
    next_cursor: str | None = None
    if run is not None:
        found = run.found.order_by("pk")
        if params.kind:
            found = found.filter(kind=params.kind)
        rows, next_cursor = keyset_page(found, page)
    return LastRunOut(
        run=_run_out(run) if run else None,
        pending=_run_out(pending) if pending else None,
        differences=Page[DifferenceOut](items=[_difference_out(d) for d in rows], next=next_cursor),
    )


@router.post(
    "/reconciliation/differences/{int:difference_id}/fix",
    response={200: DifferenceOut, **ERRORS},
    summary="Fix a difference",
)
@idempotent
def reconciliation_difference_fix(request: HttpRequest, difference_id: Id) -> DifferenceOut:
    """Does what the difference's ``fix`` offers (send, retry, sync statuses, send the
    check again); 409 ``conflict`` when it was put right already or the thing has
    changed since."""
    ctx = context(request)
    require_settings_access(ctx.user)
    get_or_404(
        ReconciliationDifference.objects.filter(run__firm=ctx.firm),
        difference_id,
        field="difference_id",
    )
    diff = reconciliation.difference_fix(firm=ctx.firm, actor=ctx.user, difference_id=difference_id)
    return _difference_out(diff)


# --- Cost code mapping ------------------------------------------------------------------------


class ActivityCodeRef(Out):
    id: int
    label: str


class MappingOut(Out):
    cost_code_id: int
    cost_code: str
    cost_code_name: str
    mapped_to: ActivityCodeRef | None = Field(
        description="The books activity code chosen for it; null: the default."
    )
    automatic: ActivityCodeRef | None = Field(
        description="Without a mapping: the books' code of the same UTBMS code it goes with; "
        "null: the cost posting reference."
    )


def _mapping_out(row: mapping_services.MappingRow) -> MappingOut:
    m, auto = row.mapping, row.automatic
    return MappingOut(
        cost_code_id=row.cost_code.pk,
        cost_code=row.cost_code.code,
        cost_code_name=row.cost_code.name,
        mapped_to=ActivityCodeRef(id=m.activity_code_id, label=m.activity_code_label)
        if m
        else None,
        automatic=(
            ActivityCodeRef(id=auto.id, label=mapping_services.activity_code_label(auto))
            if auto
            else None
        ),
    )


class MappingsOut(Out):
    items: list[MappingOut]
    choices: list[ActivityCodeRef] = Field(
        description="The books' active codes that post to Advanced client costs, as the last "
        "readiness run read them: what a cost code may be mapped to."
    )


@router.get("/cost-code-mapping", response={200: MappingsOut, **ERRORS}, summary="The mapping")
def cost_code_mapping_get(request: HttpRequest) -> MappingsOut:
    """Each active cost code with the books activity code its advances post to."""
    ctx = context(request)
    require_settings_access(ctx.user)
    conn = conn_services.connection_of(ctx.firm)
    return MappingsOut(
        items=[_mapping_out(r) for r in mapping_services.mapping_rows(ctx.firm, conn)],
        choices=[
            ActivityCodeRef(id=c.id, label=mapping_services.activity_code_label(c))
            for c in (mapping_services.advance_codes(conn) if conn else [])
        ],
    )


class MappingIn(In):
    activity_code_id: Id | None = Field(
        description="One of the choices of GET /cost-code-mapping; null: back to the default."
    )


@router.put(
    "/cost-code-mapping/{int:cost_code_id}",
    response={200: MappingOut, **ERRORS},
    summary="Map a cost code",
)
def cost_code_mapping_update(
    request: HttpRequest, cost_code_id: Id, payload: MappingIn
) -> MappingOut:
    """422 ``validation_error`` (field ``activity_code``) for a code the books do not list,
    an inactive one, or one that does not post to Advanced client costs."""
    ctx = context(request)
    require_settings_access(ctx.user)
    # the active codes, as GET lists them (an inactive one is neither shown nor mapped)
    code = get_or_404(
        CostCode.objects.filter(firm=ctx.firm, is_active=True), cost_code_id, field="cost_code_id"
    )
    mapping_services.cost_code_mapping_save(
        firm=ctx.firm,
        actor=ctx.user,
        cost_code_id=code.pk,
        activity_code_id=payload.activity_code_id,
    )
    conn = conn_services.connection_of(ctx.firm)
    return _mapping_out(mapping_services.mapping_row(ctx.firm, code, conn))
