"""Exports of the books' reports and lists (issue 15, ADR 0043): from the screens' Export
menus and through the API, with the screens' filters and as-of dates, refused as the
screens refuse; large ones through a background job with progress, download, retry and
expiry."""

from __future__ import annotations

import datetime as dt
import functools
import io
import os

import openpyxl
import pytest
from django.db import connections
from django.test import Client

from casebridge.books.exports import jobs
from casebridge.books.models import Check, Contact, ExportJob, ExportJobStatus, Role, User
from casebridge.books.selectors import reports
from casebridge.books.services import ach, auth
from casebridge.core import clock, tabular
from casebridge.core.errors import Conflict, ValidationFailed
from casebridge.core.models import AuditEvent
from tests.books.api.conftest import BASE, issue_token
from tests.books.ledger_helpers import books_open, deposit, trust_check
from tests.books.test_ach import pay_by_ach
from tests.books.web.conftest import sign_in
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db

JAN10, FEB3 = dt.date(2026, 1, 10), dt.date(2026, 2, 3)


@pytest.fixture
def books(firm, admin, trust, client_file):
    books_open(firm, admin)
    deposit(firm, admin, trust, client_file, 100_000, on=JAN10)
    trust_check(firm, admin, trust, client_file, 30_000, on=FEB3)
    return firm


def person(firm, email: str, role: Role) -> User:
    user = auth.user_create(firm=firm, email=email, password=PASSWORD, role=role)
    return auth.security_question_enroll(user=user, question="First pet?", answer="Rex")


@pytest.fixture
def staff(firm) -> User:
    return person(firm, "stan@smith.test", Role.STAFF)


@pytest.fixture
def accountant(firm) -> User:
    return person(firm, "acc@smith.test", Role.ACCOUNTANT)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


def test_the_trial_balance_as_of_january_as_csv_from_the_screen(client, admin, books):
    page = sign_in(client, admin).get("/books/reports/trial-balance/", {"as_of": "2026-01-31"})
    assert b'href="/books/exports/trial-balance/?as_of=2026-01-31&amp;format=xlsx"' in page.content
    response = client.get("/books/exports/trial-balance/", {"format": "csv", "as_of": "2026-01-31"})
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="trial-balance-2026-01-31.csv"'
    tb = reports.trial_balance(firm=books, as_of=dt.date(2026, 1, 31))
    lines = body(response).decode().split("\r\n")
    assert lines[0] == "Account,Name,Type,Debit,Credit"
    assert len(lines) == len(tb.rows) + 2
    trust_row = next(r for r in tb.rows if r.debit_cents == 100_000)
    assert f"{trust_row.number},{trust_row.name},Asset,1000.00,0.00" in lines


def test_the_trial_balance_as_xlsx_holds_the_screens_figures(client, admin, books):
    response = sign_in(client, admin).get("/books/exports/trial-balance/", {"format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(body(response))).active
    rows = list(sheet.iter_rows(values_only=True))
    tb = reports.trial_balance(firm=books)
    assert rows[0] == ("Account", "Name", "Type", "Debit", "Credit")
    assert rows[-1] == ("Total", None, None, 700.0, 700.0)
    assert tb.total_debit_cents == 70_000


def test_the_trial_balance_as_pdf(client, admin, books):
    response = sign_in(client, admin).get("/books/exports/trial-balance/", {"format": "pdf"})
    assert response["Content-Type"] == "application/pdf"
    assert body(response).startswith(b"%PDF-")


def test_a_list_offers_no_pdf_and_a_bad_date_is_refused_naming_it(client, admin, books):
    sign_in(client, admin)
    refused = client.get("/books/exports/checks/", {"format": "pdf"})
    assert refused.status_code == 422
    assert b"format must be one of csv, xlsx" in refused.content
    bad = client.get("/books/exports/trial-balance/", {"format": "csv", "as_of": "2026-02-31"})
    assert bad.status_code == 422
    assert b'data-field="as_of"' in bad.content
    assert client.get("/books/exports/no-such/").status_code == 404


def test_the_client_ledger_with_its_running_balance(client, admin, books, client_file):
    response = sign_in(client, admin).get(
        "/books/exports/client-ledger/", {"format": "csv", "file": client_file.number}
    )
    lines = body(response).decode().split("\r\n")
    assert lines[0] == "Trust account,Date,Entry,Memo,Reference,Deposit,Disbursement,Balance"
    assert lines[1].split(",")[1] == "2026-01-10"
    assert lines[1].endswith(",1000.00,0.00,1000.00")
    assert lines[2].split(",")[1] == "2026-02-03"
    assert lines[2].endswith(",0.00,300.00,700.00")


def test_checks_of_the_tab_asked_for(client, admin, books):
    status = Check.objects.get().status
    response = sign_in(client, admin).get("/books/exports/checks/", {"status": status})
    lines = body(response).decode().split("\r\n")
    assert lines[0] == "Number,Requested,Bank account,File,Payee,Amount,Memo,Printed,Voided"
    assert len([line for line in lines if line]) == 2
    assert ",Maria Lopez,300.00," in lines[1]


def test_staff_may_not_export_the_ledger_nor_the_audit_trail(client, staff, books):
    sign_in(client, staff)
    gl = client.get("/books/exports/gl-postings/", {"format": "csv"})
    assert gl.status_code == 403
    assert b"needs the accountant role" in gl.content
    assert client.get("/books/exports/audit-trail/").status_code == 403
    assert client.get("/books/exports/trial-balance/").status_code == 200


def test_the_api_twin_answers_the_file_and_refuses_as_the_screen(client, staff, accountant, books):
    ok = client.get(
        f"{BASE}/exports/trial-balance",
        {"format": "xlsx", "as_of": "2026-01-31"},
        headers={"Authorization": f"Bearer {issue_token('smith-pi', accountant.email)}"},
    )
    assert ok.status_code == 200
    assert openpyxl.load_workbook(io.BytesIO(body(ok))).active["A1"].value == "Account"
    staff_auth = {"Authorization": f"Bearer {issue_token('smith-pi', staff.email)}"}
    refused = client.get(f"{BASE}/exports/gl-postings", headers=staff_auth)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "role_required"
    bad = client.get(f"{BASE}/exports/trial-balance", {"format": "docx"}, headers=staff_auth)
    assert bad.status_code == 422
    unknown = client.get(f"{BASE}/exports/nothing", headers=staff_auth)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "report"


def test_a_background_export_of_the_ledger_runs_reports_progress_and_downloads(
    client, accountant, books
):
    sign_in(client, accountant)
    asked = client.get(
        "/books/exports/gl-postings/", {"format": "csv", "background": "1", "to": "2026-01-31"}
    )
    assert asked.status_code == 302
    assert asked["Location"] == "/books/exports/"
    job = ExportJob.objects.get()
    assert (job.report, job.format, job.status) == ("gl-postings", "csv", ExportJobStatus.QUEUED)
    assert job.params == {"background": "1", "to": "2026-01-31"}
    queued = client.get("/books/exports/")
    assert b'hx-trigger="every 2s"' in queued.content
    assert b"Queued" in queued.content

    jobs.export_job_run(job.pk)
    jobs.export_job_run(job.pk)  # taken once: a second run does nothing
    job.refresh_from_db()
    assert job.status == ExportJobStatus.DONE
    assert job.rows_total == job.rows_done == 2  # the deposit's two postings, to January's end
    done = client.get("/books/exports/")
    assert b'hx-trigger="every 2s"' not in done.content
    file = client.get(f"/books/exports/jobs/{job.pk}/download/")
    text = b"".join(file.streaming_content).decode()
    assert text.startswith(
        "Date,Entry,Account,Account name,File,Entry memo,Posting memo,Debit,Credit\r\n"
    )
    assert text.count("\r\n") == 3
    # another user never sees it
    other = Client()
    sign_in(other, books.users.get(email="acc@smith.test"))
    assert other.get(f"/books/exports/jobs/{job.pk + 1}/download/").status_code == 404


def test_a_failed_export_is_tried_again_and_expired_ones_are_deleted(
    client, accountant, books, monkeypatch
):
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="xlsx", params={}
    )
    monkeypatch.setattr(
        jobs, "write_file", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full"))
    )
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure) == (ExportJobStatus.FAILED, "the export stopped: OSError")
    monkeypatch.undo()
    sign_in(client, accountant)
    assert client.post(f"/books/exports/jobs/{job.pk}/retry/").status_code == 302
    job.refresh_from_db()
    assert (job.status, job.failure) == (ExportJobStatus.QUEUED, "")
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    path = jobs.job_path(job)
    assert job.status == ExportJobStatus.DONE
    assert path is not None
    ExportJob.objects.filter(pk=job.pk).update(expires_at=clock.now() - dt.timedelta(seconds=1))
    assert jobs.export_jobs_expire() == (1, 0)
    assert not path.exists()
    assert not ExportJob.objects.exists()


def test_a_bad_parameter_writes_no_job(accountant, books):
    with pytest.raises(ValidationFailed, match="from must be a date") as refused:
        jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={"from": "soon"}
        )
    assert refused.value.field == "from"
    assert not ExportJob.objects.exists()


def test_the_beancount_api_answers_a_job_for_a_large_range(client, accountant, books, monkeypatch):
    monkeypatch.setattr(jobs, "BEANCOUNT_INLINE_MAX_POSTINGS", 3)
    response = client.get(
        f"{BASE}/exports/beancount",
        headers={"Authorization": f"Bearer {issue_token('smith-pi', accountant.email)}"},
    )
    assert response.status_code == 202
    job = ExportJob.objects.get(pk=response.json()["id"])
    assert (job.report, job.status) == ("beancount", ExportJobStatus.QUEUED)
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJobStatus.DONE
    assert jobs.job_path(job).read_text().startswith("; The books of Smith Personal Injury LLP")


# --- review fixes (ADR 0051) ---


@pytest.fixture
def huey_immediate():
    from huey.contrib.djhuey import HUEY

    HUEY.immediate = True
    try:
        yield
    finally:
        HUEY.immediate = False


@pytest.mark.django_db(transaction=True)
def test_a_job_queued_from_the_screen_and_the_api_is_run_by_the_worker(
    client, accountant, books, huey_immediate
):
    sign_in(client, accountant)
    asked = client.get("/books/exports/gl-postings/", {"format": "csv", "background": "1"})
    assert asked.status_code == 302
    api = client.get(
        f"{BASE}/exports/trial-balance",
        {"format": "csv", "background": "true"},
        headers={"Authorization": f"Bearer {issue_token('smith-pi', accountant.email)}"},
    )
    assert api.status_code == 202
    for job in ExportJob.objects.order_by("pk"):
        assert job.status == ExportJobStatus.DONE
        assert jobs.job_path(job) is not None
    assert ExportJob.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_beancount_job_records_its_progress_outside_the_exports_snapshot(
    accountant, books, monkeypatch
):
    monkeypatch.setattr(tabular, "PROGRESS_EVERY", 5)
    job = jobs.export_job_create(
        firm=books, actor=accountant, report=jobs.BEANCOUNT, fmt="", params={}
    )
    monkeypatch.setattr(
        jobs.beancount_module, "chunked", functools.partial(jobs.beancount_module.chunked, size=200)
    )
    reader = connections.create_connection("default")  # another session, as the screen's
    seen: list[int] = []
    update = jobs._Progress.__call__

    def spy(self, done):
        update(self, done)
        with reader.cursor() as cursor:  # committed at once, while the export still reads
            cursor.execute("SELECT rows_done FROM books_exportjob WHERE id = %s", [job.pk])
            seen.append(cursor.fetchone()[0])

    monkeypatch.setattr(jobs._Progress, "__call__", spy)
    try:
        jobs.export_job_run(job.pk)
    finally:
        reader.close()
    job.refresh_from_db()
    assert (job.status, job.failure) == (ExportJobStatus.DONE, "")
    assert job.rows_done == jobs.job_path(job).read_text().count("\n") == 30
    assert len(seen) >= 3
    assert seen == sorted(seen)
    assert seen[0] >= 5


def test_a_failed_job_leaves_no_partial_file(accountant, books, monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )

    def half_written(path, *args, **kwargs):
        path.write_text("Date,Entry\r\n")
        raise OSError("disk full")

    monkeypatch.setattr(jobs, "write_file", half_written)
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert job.status == ExportJobStatus.FAILED
    assert list((jobs.exports_dir() / str(books.pk)).iterdir()) == []


def test_a_failed_job_on_a_folder_it_cannot_make_is_failed_not_left_running(
    accountant, books, monkeypatch, tmp_path
):
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(jobs, "exports_dir", lambda: blocker)
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.failure) == (
        ExportJobStatus.FAILED,
        "the export stopped: NotADirectoryError",
    )


def test_the_sweep_removes_stale_partials_and_fails_jobs_queued_for_a_day(
    accountant, books, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    folder = jobs.exports_dir() / str(books.pk)
    folder.mkdir(parents=True, exist_ok=True)
    stale, fresh = folder / ".1-a.csv.part", folder / ".2-b.csv.part"
    stale.write_text("x")
    fresh.write_text("x")
    old = stale.stat().st_mtime - jobs.STALE.total_seconds() - 60
    os.utime(stale, (old, old))
    lost = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    ExportJob.objects.filter(pk=lost.pk).update(
        created_at=clock.now() - dt.timedelta(days=1, seconds=1)
    )
    recent = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    assert jobs.export_jobs_expire() == (0, 1)
    lost.refresh_from_db()
    assert (lost.status, lost.failure) == (
        ExportJobStatus.FAILED,
        "the export was never started: try it again",
    )
    assert ExportJob.objects.get(pk=recent.pk).status == ExportJobStatus.QUEUED
    assert (stale.exists(), fresh.exists()) == (False, True)


def test_a_fourth_pending_export_of_one_user_is_refused(client, accountant, books):
    for _ in range(3):
        jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
        )
    with pytest.raises(Conflict, match="already have 3 exports queued or running"):
        jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
        )
    refused = client.get(
        f"{BASE}/exports/trial-balance",
        {"background": "true"},
        headers={"Authorization": f"Bearer {issue_token('smith-pi', accountant.email)}"},
    )
    assert refused.status_code == 409
    assert refused.json()["error"]["field"] == "background"
    assert ExportJob.objects.count() == 3


def test_a_retry_only_puts_a_failed_job_back(accountant, books):
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJobStatus.FAILED, failure="lost")
    jobs.export_job_retry(firm=books, actor=accountant, job_id=job.pk)
    with pytest.raises(ValidationFailed, match="only a failed export"):
        jobs.export_job_retry(firm=books, actor=accountant, job_id=job.pk)
    assert ExportJob.objects.get(pk=job.pk).status == ExportJobStatus.QUEUED


def test_the_queued_checks_export_leaves_out_ach_payments_as_the_screen_does(
    client, admin, books, trust, client_file
):
    maria = Contact.objects.get(firm=books, name="Maria Lopez")
    ach.payee_bank_account_set(
        firm=books,
        actor=admin,
        contact_id=maria.pk,
        routing_number="026009593",
        account_number="0012 3456-789",
        account_type="checking",
        holder_kind="person",
    )
    pay_by_ach(books, admin, trust, client_file, maria, 10_000)
    response = sign_in(client, admin).get("/books/exports/checks/", {"status": "queued"})
    lines = [line for line in body(response).decode().split("\r\n") if line]
    assert len(lines) == 2
    assert ",Maria Lopez,300.00," in lines[1]


def test_the_audit_trail_goes_to_a_job_when_large_and_a_long_pdf_is_refused(
    client, admin, books, trust, monkeypatch
):
    from casebridge.books.exports import tables
    from casebridge.books.views import exports as views

    assert tables.report_for("trust-journal").large
    monkeypatch.setattr(views, "INLINE_MAX_ROWS", 1)
    sign_in(client, admin)
    asked = client.get("/books/exports/audit-trail/", {"format": "csv"})
    assert asked.status_code == 302
    job = ExportJob.objects.get()
    assert job.report == "audit-trail"
    monkeypatch.setattr(tables, "PDF_MAX_ROWS", 1)  # its two postings
    refused = client.get(
        "/books/exports/trust-journal/", {"format": "pdf", "bank_account": trust.pk}
    )
    assert refused.status_code == 422
    assert b"export this one as CSV or XLSX" in refused.content
    api = client.get(
        f"{BASE}/exports/trust-journal",
        {"format": "pdf", "bank_account": trust.pk},
        headers={"Authorization": f"Bearer {issue_token('smith-pi', admin.email)}"},
    )
    assert api.status_code == 422
    assert api.json()["error"]["field"] == "format"
    assert ExportJob.objects.count() == 1


def test_a_download_name_never_carries_a_quote_nor_a_slash(books):
    from casebridge.core.tabular import Column, Format, Table
    from casebridge.web.exports import export_response

    table = Table(
        title="Client trust ledger",
        columns=[Column("Memo")],
        rows=[("x",)],
        filename='client-ledger-F"2026/07\r\n-2026-01-31',
    )
    response = export_response(table, Format.CSV)
    assert response["Content-Disposition"] == (
        'attachment; filename="client-ledger-F-2026-07-2026-01-31.csv"'
    )


# --- review fixes, second round: expiry, stale workers, the pending limit, downloads ---


def _at(monkeypatch, when: dt.datetime) -> None:
    """The clock reads ``when`` from now on (the jobs read the time through it)."""
    monkeypatch.setattr(clock, "now", lambda: when)


def _disk_full(*args, **kwargs):
    raise OSError("disk full")


def test_a_job_tried_again_on_its_last_day_is_kept_until_seven_days_after_it_is_done(
    accountant, books, monkeypatch, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    failed_at = clock.now()
    _at(monkeypatch, failed_at)
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    write_file = jobs.write_file
    monkeypatch.setattr(jobs, "write_file", _disk_full)
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    assert (job.status, job.expires_at) == (ExportJobStatus.FAILED, failed_at + jobs.KEEP)

    _at(monkeypatch, failed_at + jobs.KEEP - dt.timedelta(minutes=1))
    jobs.export_job_retry(firm=books, actor=accountant, job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.expires_at) == (ExportJobStatus.QUEUED, None)
    _at(monkeypatch, failed_at + jobs.KEEP + dt.timedelta(hours=1))
    assert jobs.export_jobs_expire() == (0, 0)  # queued: kept

    swept: list[tuple[tuple[int, int], str]] = []

    def swept_while_writing(path, table, fmt, **kwargs):
        _at(monkeypatch, failed_at + jobs.KEEP + dt.timedelta(hours=2))
        swept.append((jobs.export_jobs_expire(), ExportJob.objects.get(pk=job.pk).status))
        return write_file(path, table, fmt, **kwargs)

    monkeypatch.setattr(jobs, "write_file", swept_while_writing)
    jobs.export_job_run(job.pk)
    assert swept == [((0, 0), ExportJobStatus.RUNNING)]  # running: kept
    job.refresh_from_db()
    done_at = failed_at + jobs.KEEP + dt.timedelta(hours=2)
    assert (job.status, job.finished_at, job.expires_at) == (
        ExportJobStatus.DONE,
        done_at,
        done_at + jobs.KEEP,
    )
    folder = jobs.exports_dir() / str(books.pk)
    assert [p.name for p in folder.iterdir()] == [f"{job.pk}-2-gl-postings-start-end.csv"]
    assert job.file_name == f"{books.pk}/{job.pk}-2-gl-postings-start-end.csv"

    _at(monkeypatch, done_at + jobs.KEEP + dt.timedelta(seconds=1))
    assert jobs.export_jobs_expire() == (1, 0)
    assert list(folder.iterdir()) == []
    assert not ExportJob.objects.filter(pk=job.pk).exists()


def test_the_sweep_deletes_no_queued_nor_running_job_whatever_its_expiry(accountant, books):
    queued, running = (
        jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
        )
        for _ in range(2)
    )
    past = clock.now() - dt.timedelta(seconds=1)  # as a retry left it before this fix
    ExportJob.objects.filter(pk=queued.pk).update(expires_at=past)
    ExportJob.objects.filter(pk=running.pk).update(
        status=ExportJobStatus.RUNNING, started_at=clock.now(), expires_at=past
    )
    assert jobs.export_jobs_expire() == (0, 0)
    assert list(ExportJob.objects.order_by("pk").values_list("status", flat=True)) == [
        ExportJobStatus.QUEUED,
        ExportJobStatus.RUNNING,
    ]


def test_a_worker_that_records_progress_is_not_taken_for_dead(
    accountant, books, monkeypatch, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    started = clock.now()
    _at(monkeypatch, started)
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    write_file = jobs.write_file
    seen: list[tuple[tuple[int, int], str]] = []

    def slow(path, table, fmt, *, progress, **kwargs):
        _at(monkeypatch, started + dt.timedelta(hours=5))
        progress(1)
        _at(monkeypatch, started + dt.timedelta(hours=7))  # 7 hours after it started
        seen.append((jobs.export_jobs_expire(), ExportJob.objects.get(pk=job.pk).status))
        _at(monkeypatch, started + dt.timedelta(hours=11, minutes=1))  # 6 h after progress
        seen.append((jobs.export_jobs_expire(), ExportJob.objects.get(pk=job.pk).status))
        return write_file(path, table, fmt, progress=progress, **kwargs)

    monkeypatch.setattr(jobs, "write_file", slow)
    jobs.export_job_run(job.pk)
    assert seen == [((0, 0), ExportJobStatus.RUNNING), ((0, 1), ExportJobStatus.FAILED)]
    job.refresh_from_db()  # given up on: the worker's late end changes nothing
    assert (job.status, job.failure, job.rows_done) == (
        ExportJobStatus.FAILED,
        "the worker stopped before the export was written",
        1,
    )
    assert list((jobs.exports_dir() / str(books.pk)).iterdir()) == []


@pytest.mark.parametrize("first_worker", ["finishes", "fails"])
def test_a_worker_given_up_on_leaves_the_retried_job_and_its_file_alone(
    accountant, books, monkeypatch, settings, tmp_path, first_worker
):
    settings.VAR_DIR = tmp_path
    started = clock.now()
    _at(monkeypatch, started)
    job = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    write_file = jobs.write_file
    second: dict[str, object] = {}

    def stuck_then_woken(path, table, fmt, *, progress, **kwargs):
        monkeypatch.setattr(jobs, "write_file", write_file)  # the second worker's
        _at(monkeypatch, started + jobs.STALE + dt.timedelta(minutes=1))
        assert jobs.export_jobs_expire() == (0, 1)
        jobs.export_job_retry(firm=books, actor=accountant, job_id=job.pk)
        jobs.export_job_run(job.pk)  # the second worker, to the end
        second.update(ExportJob.objects.filter(pk=job.pk).values().get())
        _at(monkeypatch, started + jobs.STALE + dt.timedelta(minutes=5))
        progress(99)  # the first worker wakes up
        if first_worker == "fails":
            raise OSError("disk full")
        return write_file(path, table, fmt, progress=progress, **kwargs)

    monkeypatch.setattr(jobs, "write_file", stuck_then_woken)
    jobs.export_job_run(job.pk)
    assert ExportJob.objects.filter(pk=job.pk).values().get() == second
    assert (second["status"], second["attempt"], second["rows_done"]) == (
        ExportJobStatus.DONE,
        2,
        4,  # the deposit's two postings and the check's two
    )
    folder = jobs.exports_dir() / str(books.pk)
    assert [p.name for p in folder.iterdir()] == [f"{job.pk}-2-gl-postings-start-end.csv"]
    assert second["file_name"] == f"{books.pk}/{job.pk}-2-gl-postings-start-end.csv"


def test_a_retry_counts_against_the_pending_limit_and_changes_nothing_when_refused(
    client, accountant, books
):
    failed = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    expires = clock.now() + dt.timedelta(days=2)
    ExportJob.objects.filter(pk=failed.pk).update(
        status=ExportJobStatus.FAILED, failure="lost", expires_at=expires
    )
    for _ in range(3):
        jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
        )
    before = ExportJob.objects.filter(pk=failed.pk).values().get()
    with pytest.raises(Conflict, match="already have 3 exports queued or running") as refused:
        jobs.export_job_retry(firm=books, actor=accountant, job_id=failed.pk)
    assert refused.value.field == "job"
    page = sign_in(client, accountant).post(f"/books/exports/jobs/{failed.pk}/retry/")
    assert page.status_code == 409
    assert b"You already have 3 exports queued or running: wait for one to finish before" in (
        page.content
    )
    assert b'data-field="job"' in page.content
    assert ExportJob.objects.filter(pk=failed.pk).values().get() == before
    assert before["expires_at"] == expires
    assert ExportJob.objects.filter(status__in=jobs.PENDING).count() == 3


@pytest.mark.postgres_only
@pytest.mark.skipif(
    connections["default"].vendor != "postgresql",
    reason="needs PostgreSQL: SQLite serialises every writer, so there is no race to test",
)
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_ask", ["a new export", "a retry"])
def test_two_asks_at_once_take_turns_at_the_pending_limit(accountant, books, second_ask):
    import threading

    from django.db import connection, transaction

    from tests.clockwork import PATIENCE

    def ask():
        return jobs.export_job_create(
            firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
        )

    failed = ask()
    ExportJob.objects.filter(pk=failed.pk).update(status=ExportJobStatus.FAILED, failure="lost")
    ask()
    ask()
    holding, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:  # the third pending job, its transaction kept open
        try:
            with transaction.atomic():
                ask()
                holding.set()
                assert release.wait(PATIENCE)
        except BaseException as exc:  # reported to the test
            outcome["first"] = exc
            holding.set()
        finally:
            connection.close()

    def second() -> None:
        try:
            if second_ask == "a retry":
                jobs.export_job_retry(firm=books, actor=accountant, job_id=failed.pk)
            else:
                ask()
            outcome["second"] = "accepted"
        except Conflict as exc:
            outcome["second"] = exc.message
        finally:
            connection.close()

    one = threading.Thread(target=first)
    one.start()
    assert holding.wait(PATIENCE)
    two = threading.Thread(target=second)
    two.start()
    two.join(1)  # before the fix it went through at once
    blocked = two.is_alive()
    release.set()
    one.join(PATIENCE)
    two.join(PATIENCE)
    assert "first" not in outcome
    assert blocked
    assert str(outcome["second"]).startswith("you already have 3 exports queued or running")
    assert ExportJob.objects.filter(status__in=jobs.PENDING).count() == 3


def test_a_demoted_administrator_no_longer_downloads_the_audit_trail_and_downloads_are_audited(
    client, admin, books, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    ann = person(books, "ann@smith.test", Role.ADMINISTRATOR)
    job = jobs.export_job_create(firm=books, actor=ann, report="audit-trail", fmt="csv", params={})
    jobs.export_job_run(job.pk)
    job.refresh_from_db()
    audits = AuditEvent.objects.filter(entity_type="export_job", action="download")
    screen = f"/books/exports/jobs/{job.pk}/download/"
    api = f"{BASE}/exports/jobs/{job.pk}/file"
    token = {"Authorization": f"Bearer {issue_token('smith-pi', ann.email)}"}

    assert sign_in(client, ann).get(screen).status_code == 200
    assert client.get(api, headers=token).status_code == 200
    assert [(e.entity_id, e.actor_id, e.after) for e in audits.order_by("pk")] == [
        (str(job.pk), ann.pk, {"report": "audit-trail", "file_name": job.download_name})
    ] * 2
    assert audits.first().summary == f"Export {job.pk} (Audit trail, CSV) downloaded"

    auth.user_update(user=ann, actor=admin, role=Role.ACCOUNTANT)
    refused = client.get(screen)
    assert refused.status_code == 403
    assert b"only a books administrator can export the audit trail" in refused.content
    api_refused = client.get(api, headers=token)
    assert api_refused.status_code == 403
    assert api_refused.json()["error"]["code"] == "admin_required"
    assert audits.count() == 2


def test_an_accountant_made_staff_no_longer_downloads_the_ledger_nor_the_beancount_file(
    client, admin, accountant, books, settings, tmp_path
):
    settings.VAR_DIR = tmp_path
    ledger = jobs.export_job_create(
        firm=books, actor=accountant, report="gl-postings", fmt="csv", params={}
    )
    beancount = jobs.export_job_create(
        firm=books, actor=accountant, report=jobs.BEANCOUNT, fmt="", params={}
    )
    jobs.export_job_run(ledger.pk)
    jobs.export_job_run(beancount.pk)
    sign_in(client, accountant)
    token = {"Authorization": f"Bearer {issue_token('smith-pi', accountant.email)}"}
    for job in (ledger, beancount):
        assert client.get(f"/books/exports/jobs/{job.pk}/download/").status_code == 200
    assert not AuditEvent.objects.filter(entity_type="export_job").exists()  # not admin-only

    auth.user_update(user=accountant, actor=admin, role=Role.STAFF)
    for job in (ledger, beancount):
        assert client.get(f"/books/exports/jobs/{job.pk}/download/").status_code == 403
        refused = client.get(f"{BASE}/exports/jobs/{job.pk}/file", headers=token)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "role_required"
