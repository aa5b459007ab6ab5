"""Background export jobs (issue 15, ADR 0043): a large export is written by the worker,
not the web request (gunicorn's 30 s timeout), into a file under
``$CASEBRIDGE_VAR_DIR/exports/<firm id>/``, with its progress (rows done of rows total)
recorded every :data:`~casebridge.core.tabular.PROGRESS_EVERY` rows for the Exports screen
to poll.

- :func:`export_job_create` checks the caller (the report's own rule), the format and the
  parameters (the report is built once, reading nothing, so a bad parameter is refused at
  once, 422 naming it, and no job is written), records a queued :class:`ExportJob` and asks
  the worker for it once the transaction commits (:func:`set_enqueuer`: ``books.tasks``
  plugs Huey in);
- :func:`export_job_run` (the worker) takes the job with a guarded UPDATE (queued ->
  running, its ``attempt`` counted up: one worker only), builds the table again as the user
  who asked (their role as it is now), writes the file through a temporary name and marks
  it done, or failed with the reason; :func:`export_job_retry` puts a failed one back in
  the queue (without an expiry: only a finished job expires). Every write of a worker to
  the row (progress, done, failed) names its attempt and ``status = running``: a worker
  the sweep gave up on, whose job was then tried again, changes nothing and removes the
  file it wrote (its files carry the attempt in their names, so it never touches the new
  worker's);
- at most :data:`MAX_PENDING_PER_USER` jobs queued or running per user, counted under a
  lock on the user's row (FOR NO KEY UPDATE) on create and on retry, so two asks at
  once take turns. It is the only lock these take, before the job's row (retry);
- :func:`export_job_download` serves a finished file to the user who asked, checking the
  report's rule again (a demoted administrator no longer downloads the audit trail) and
  auditing the download of an administrators-only export;
- :func:`export_jobs_expire` (hourly) deletes the files and rows of finished jobs past
  ``expires_at`` (:data:`KEEP`), and fails jobs whose worker recorded no progress for
  :data:`STALE` (a dead worker).

The Beancount export is the report ``beancount`` here: its lines go to the file as the
HTTP stream would send them.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Q

from casebridge.books.audit import books_audit
from casebridge.books.exports import beancount as beancount_module
from casebridge.books.exports.tables import Report, check_size, export_format, report_for
from casebridge.books.models import ExportJob, ExportJobStatus, Firm, Posting, Role, User
from casebridge.books.roles import require_role
from casebridge.core import clock, tabular, timezones
from casebridge.core.errors import Conflict, DomainError, NotFound, ValidationFailed
from casebridge.core.tabular import Format, Table, write_file
from casebridge.core.text import file_name_part

log = logging.getLogger(__name__)

#: How long a finished export's file is kept.
KEEP = dt.timedelta(days=7)
#: A job running this long since its last progress (or its start) is taken for dead.
STALE = dt.timedelta(hours=6)
#: A job still queued after this was lost (the worker never took it): failed.
QUEUED_MAX = dt.timedelta(days=1)
#: Jobs one user may have queued or running at once.
MAX_PENDING_PER_USER = 3
BEANCOUNT = "beancount"
PENDING = (ExportJobStatus.QUEUED, ExportJobStatus.RUNNING)
FINISHED = (ExportJobStatus.DONE, ExportJobStatus.FAILED)

_enqueue: Callable[[int], None] | None = None


def set_enqueuer(enqueue: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """Plug in the task engine; returns the previous enqueuer."""
    global _enqueue
    previous, _enqueue = _enqueue, enqueue
    return previous


def exports_dir() -> Path:
    return Path(settings.VAR_DIR) / "exports"


def _check_access(report: str, actor: User) -> None:
    """Refused (403) as the report's screen would refuse ``actor`` now."""
    if report == BEANCOUNT:
        require_role(actor, Role.ACCOUNTANT, doing="Exporting the books")
    else:
        report_for(report).check_access(actor)


def _title_and_check(
    firm: Firm, actor: User, report: str, fmt: str, params: Mapping[str, str]
) -> tuple[str, Format | None]:
    """The job's title; refused as the report would be (role, format, parameters)."""
    if report == BEANCOUNT:
        start, end = _beancount_range(params)
        beancount_module.beancount_export(firm=firm, actor=actor, start=start, end=end)
        return "Beancount ledger", None
    entry = report_for(report)
    entry.check_access(actor)
    chosen = export_format(entry, fmt)
    check_size(entry.build(firm, params), chosen)  # refuses a bad parameter; reads no rows
    return entry.title, chosen


#: Postings above which the Beancount export over HTTP goes to a background job.
BEANCOUNT_INLINE_MAX_POSTINGS = 100_000


def beancount_is_large(firm: Firm, start: dt.date | None, end: dt.date | None) -> bool:
    """More postings in the range than :data:`BEANCOUNT_INLINE_MAX_POSTINGS` (one bounded
    EXISTS, never a count of them all)."""
    postings = Posting.objects.filter(entry__firm=firm)
    if start:
        postings = postings.filter(entry__date__gte=start)
    if end:
        postings = postings.filter(entry__date__lte=end)
    n = BEANCOUNT_INLINE_MAX_POSTINGS
    return postings.order_by()[n : n + 1].exists()


def beancount_params(start: dt.date | None, end: dt.date | None) -> dict[str, str]:
    return {"from": start.isoformat() if start else "", "to": end.isoformat() if end else ""}


def _beancount_range(params: Mapping[str, str]) -> tuple[dt.date | None, dt.date | None]:
    out: list[dt.date | None] = []
    for name in ("from", "to"):
        text = (params.get(name) or "").strip()
        try:
            out.append(dt.date.fromisoformat(text) if text else None)
        except ValueError:
            raise ValidationFailed(f"{name} must be a date (YYYY-MM-DD)", field=name) from None
    return out[0], out[1]


def export_job_create(
    *, firm: Firm, actor: User, report: str, fmt: str, params: Mapping[str, str]
) -> ExportJob:
    clean = {k: str(v) for k, v in params.items() if k not in ("format", "page")}
    title, chosen = _title_and_check(firm, actor, report, fmt, clean)
    with transaction.atomic():
        _user_lock(actor)
        _pending_check(firm, actor, "before asking for another", field="background")
        job = ExportJob.objects.create(
            firm=firm,
            requested_by=actor,
            report=report,
            format=chosen.value if chosen else "beancount",
            params=clean,
            title=title,
            created_at=clock.now(),
        )
        _ask(job.pk)
    return job


def _user_lock(actor: User) -> None:
    """Lock ``actor``'s row (FOR NO KEY UPDATE: the foreign-key checks of rows naming
    them still pass) until the transaction ends: their asks for exports take turns, so
    the pending count one reads includes the job another just wrote."""
    User.objects.select_for_update(no_key=True).filter(pk=actor.pk).values_list(
        "pk", flat=True
    ).get()


def _pending_check(firm: Firm, actor: User, then: str, *, field: str) -> None:
    """Refused (409 on ``field``) when ``actor`` has :data:`MAX_PENDING_PER_USER` jobs
    queued or running; call it holding :func:`_user_lock`."""
    pending = ExportJob.objects.filter(firm=firm, requested_by=actor, status__in=PENDING).count()
    if pending >= MAX_PENDING_PER_USER:
        raise Conflict(
            f"you already have {pending} exports queued or running: wait for one to finish {then}",
            field=field,
        )


def _ask(job_id: int) -> None:
    enqueue = _enqueue
    if enqueue is not None:
        transaction.on_commit(lambda: enqueue(job_id))


@transaction.atomic
def export_job_retry(*, firm: Firm, actor: User, job_id: int) -> ExportJob:
    """A failed job of ``actor`` back in the queue, from the start, with no expiry (the
    sweep deletes finished jobs only); refused (409) when ``actor`` already has
    :data:`MAX_PENDING_PER_USER` jobs queued or running, as a new one would be."""
    _user_lock(actor)
    job = ExportJob.objects.filter(firm=firm, requested_by=actor, pk=job_id).first()
    if job is None:
        raise NotFound("no such export of yours", field="job")
    if job.status != ExportJobStatus.FAILED:
        raise ValidationFailed("only a failed export can be tried again", field="job")
    _pending_check(firm, actor, "before trying this one again", field="job")
    again = ExportJob.objects.filter(pk=job.pk, status=ExportJobStatus.FAILED).update(
        status=ExportJobStatus.QUEUED,
        failure="",
        rows_done=0,
        started_at=None,
        progress_at=None,
        finished_at=None,
        expires_at=None,
        created_at=clock.now(),
    )
    if not again:  # tried again meanwhile, or expired
        raise ValidationFailed("only a failed export can be tried again", field="job")
    _ask(job.pk)
    job.refresh_from_db()
    return job


def job_path(job: ExportJob) -> Path | None:
    """The finished file of ``job``, if it is still there."""
    if job.status != ExportJobStatus.DONE or not job.file_name:
        return None
    path = exports_dir() / job.file_name
    return path if path.is_file() else None


def export_job_download(*, firm: Firm, actor: User, job_id: int) -> tuple[ExportJob, Path] | None:
    """The job ``job_id`` of ``actor`` and its finished file, or None (none of theirs, not
    done, or expired). Refused (403) as the report's screen would refuse ``actor`` now:
    the file was written with the role they had then. A download of an
    administrators-only export (the audit trail, the chart of accounts) is audited: who,
    which export, never its content."""
    job = ExportJob.objects.filter(firm=firm, requested_by=actor, pk=job_id).first()
    path = job_path(job) if job is not None else None
    if job is None or path is None:
        return None
    _check_access(job.report, actor)
    if job.report != BEANCOUNT and report_for(job.report).admin:
        books_audit(
            firm_id=firm.pk,
            action="download",
            entity_type="export_job",
            entity_id=job.pk,
            actor=actor,
            summary=f"Export {job.pk} ({job.title}, {job.format.upper()}) downloaded",
            after={"report": job.report, "file_name": job.download_name},
        )
    return job, path


def _mine(job: ExportJob) -> Q:
    """The job's row while ``job``'s worker is the one running it."""
    return Q(pk=job.pk, status=ExportJobStatus.RUNNING, attempt=job.attempt)


def export_job_run(job_id: int) -> None:
    """Write the job's file (the worker). Taken once: a second call does nothing."""
    job = (
        ExportJob.objects.select_related("firm", "requested_by")
        .filter(pk=job_id, status=ExportJobStatus.QUEUED)
        .first()
    )
    if job is None:
        return
    now = clock.now()
    taken = ExportJob.objects.filter(
        pk=job_id, status=ExportJobStatus.QUEUED, attempt=job.attempt
    ).update(
        status=ExportJobStatus.RUNNING, started_at=now, progress_at=now, attempt=job.attempt + 1
    )
    if not taken:
        return
    job.status, job.started_at, job.progress_at = ExportJobStatus.RUNNING, now, now
    job.attempt += 1
    folder = exports_dir() / str(job.firm_id)
    progress = _Progress(job)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with timezones.firm_zone(job.firm.time_zone):
            name, rows = _write(job, folder, progress)
    except DomainError as exc:
        _fail(job, exc.message)
        return
    except Exception as exc:  # a bug or a full disk: recorded, and logged with its trace
        log.exception("export job %s failed", job_id)
        _fail(job, f"the export stopped: {type(exc).__name__}")
        return
    finally:
        progress.close()
    now = clock.now()
    written = folder / _file_name(job, name)
    done = ExportJob.objects.filter(_mine(job)).update(
        status=ExportJobStatus.DONE,
        rows_done=rows,
        file_name=f"{job.firm_id}/{_file_name(job, name)}",
        download_name=name,
        size_bytes=written.stat().st_size,
        progress_at=now,
        finished_at=now,
        expires_at=now + KEEP,
    )
    if not done:  # given up on (and tried again, or deleted) while this worker wrote
        written.unlink(missing_ok=True)
        log.warning("export job %s: attempt %s was given up on; its file removed", *_ids(job))


def _ids(job: ExportJob) -> tuple[int, int]:
    return job.pk, job.attempt


def _file_name(job: ExportJob, name: str) -> str:
    """The file of the job's current attempt (a later attempt writes another)."""
    return f"{job.pk}-{job.attempt}-{name}"


def _fail(job: ExportJob, reason: str) -> None:
    now = clock.now()
    failed = ExportJob.objects.filter(_mine(job)).update(
        status=ExportJobStatus.FAILED,
        failure=reason or "failed",
        finished_at=now,
        expires_at=now + KEEP,
    )
    if not failed:
        log.warning("export job %s: attempt %s was given up on before it failed", *_ids(job))


_PROGRESS_SQL = (
    "UPDATE books_exportjob SET rows_done = %s, progress_at = %s "
    "WHERE id = %s AND status = %s AND attempt = %s"
)


class _Progress:
    """Records a job's ``rows_done``. When the worker's connection holds no transaction
    as the job starts (always, in the worker), through a second, short-lived connection in
    autocommit, never the export's: the Beancount export reads inside a REPEATABLE READ
    READ ONLY transaction on PostgreSQL (an UPDATE there is refused) and a read
    transaction on SQLite (an UPDATE there would take the write lock until the export
    ends). When the caller already holds a transaction (a test), through it. Each
    records when (``progress_at``), and only while the job is still this worker's."""

    def __init__(self, job: ExportJob) -> None:
        self.job = job
        self.aside = not connection.in_atomic_block
        self._db: BaseDatabaseWrapper | None = None

    def __call__(self, done: int) -> None:
        now = clock.now()
        if not self.aside:
            ExportJob.objects.filter(_mine(self.job)).update(rows_done=done, progress_at=now)
            return
        if self._db is None:
            self._db = connections.create_connection(DEFAULT_DB_ALIAS)
        at = self._db.ops.adapt_datetimefield_value(now)
        with self._db.cursor() as cursor:
            cursor.execute(
                _PROGRESS_SQL,
                [done, at, self.job.pk, ExportJobStatus.RUNNING.value, self.job.attempt],
            )

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None


def _partial_removed(partial: Path, write: Callable[[], int]) -> int:
    """``write()`` into ``partial``; the partial file removed should it fail."""
    try:
        return write()
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def _write(job: ExportJob, folder: Path, progress: _Progress) -> tuple[str, int]:
    """Write the file under a temporary name, then rename it; (its name, rows)."""
    params: dict[str, str] = dict(job.params)
    if job.report == BEANCOUNT:
        start, end = _beancount_range(params)
        lines = beancount_module.beancount_export(
            firm=job.firm, actor=job.requested_by, start=start, end=end
        )
        name = beancount_module.download_name(job.firm, start, end)
        partial = folder / f".{_file_name(job, name)}.part"

        def write_lines() -> int:
            done, every = 0, tabular.PROGRESS_EVERY
            with partial.open("wb") as out:
                for chunk in beancount_module.chunked(lines):
                    out.write(chunk)
                    done += chunk.count(b"\n")
                    if done // every != (done - chunk.count(b"\n")) // every:
                        progress(done)
            return done

        done = _partial_removed(partial, write_lines)
        os.replace(partial, folder / _file_name(job, name))
        return name, done
    report: Report = report_for(job.report)
    report.check_access(job.requested_by)
    fmt = export_format(report, job.format)
    table: Table = report.build(job.firm, params)
    if table.count is not None:
        ExportJob.objects.filter(_mine(job)).update(rows_total=table.count())
    name = f"{file_name_part(table.filename)}.{fmt.value}"
    partial = folder / f".{_file_name(job, name)}.part"
    rows = _partial_removed(
        partial,
        lambda: write_file(partial, table, fmt, bom=params.get("bom") == "1", progress=progress),
    )
    os.replace(partial, folder / _file_name(job, name))
    return name, rows


def export_jobs_expire() -> tuple[int, int]:
    """Delete the finished exports (done or failed) past their expiry, file and row (a
    queued or running one never expires: a retry clears it, and is kept should one be
    left), fail the jobs whose worker recorded no progress for :data:`STALE` (it died)
    and those queued for longer than :data:`QUEUED_MAX` (a lost enqueue), and remove the
    partial files older than :data:`STALE` a killed worker left; (deleted, failed)."""
    now = clock.now()
    deleted = 0
    expired = ExportJob.objects.filter(status__in=FINISHED, expires_at__lt=now)
    for job in expired.iterator():
        # guarded: tried again since it was read, it is queued and stays
        if not expired.filter(pk=job.pk, status=job.status).delete()[0]:
            continue
        if job.file_name:
            (exports_dir() / job.file_name).unlink(missing_ok=True)
        deleted += 1
    stale = now - STALE
    failed = ExportJob.objects.filter(
        Q(progress_at__lt=stale) | Q(progress_at__isnull=True, started_at__lt=stale),
        status=ExportJobStatus.RUNNING,
    ).update(
        status=ExportJobStatus.FAILED,
        failure="the worker stopped before the export was written",
        finished_at=now,
        expires_at=now + KEEP,
    )
    failed += ExportJob.objects.filter(
        status=ExportJobStatus.QUEUED, created_at__lt=now - QUEUED_MAX
    ).update(
        status=ExportJobStatus.FAILED,
        failure="the export was never started: try it again",
        finished_at=now,
        expires_at=now + KEEP,
    )
    _stale_partials_remove()
    return deleted, failed


def _stale_partials_remove() -> None:
    """The ``.part`` files not written to for :data:`STALE` (their worker died)."""
    oldest = time.time() - STALE.total_seconds()
    for partial in exports_dir().glob("*/.*.part"):
        try:
            if partial.stat().st_mtime < oldest:
                partial.unlink(missing_ok=True)
        except FileNotFoundError:
            continue
