"""The books' URLs: screens and the versioned API."""

from django.urls import path
from django.views.generic import RedirectView

from casebridge.books.api.router import api
from casebridge.books.views import (
    account,
    ach,
    audit,
    auth,
    bank,
    checks,
    dashboard,
    exports,
    files,
    financial,
    invoices,
    journal,
    ledes,
    reconciliations,
    reports,
    search,
    settings,
    statements,
    tax1099,
    users,
)

app_name = "books"

urlpatterns = [
    path("api/v1/", api.urls),
    # Sign-in
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("enroll/", auth.enroll_view, name="enroll"),
    *account.SCREENS.urlpatterns(),
    # Main navigation
    path("", dashboard.dashboard_view, name="dashboard"),
    path("search/", search.search_view, name="search"),
    path("files/", files.files_view, name="files"),
    path("files/new/", files.file_create_view, name="file_new"),
    path("files/<int:pk>/", files.file_detail_view, name="file_detail"),
    path("files/<int:pk>/deposit/", files.file_deposit_view, name="file_deposit"),
    path("files/<int:pk>/check/", files.file_check_request_view, name="file_check"),
    path("receipts/<int:pk>/void/", files.receipt_void_view, name="receipt_void"),
    path("checks/", checks.checks_view, name="checks"),
    path("checks/print/", checks.checks_print_batch_view, name="checks_print_batch"),
    path("checks/pdf/", checks.checks_pdf_view, name="checks_pdf"),
    path("checks/positive-pay/", checks.positive_pay_view, name="positive_pay"),
    path("checks/<int:pk>/reprint/", checks.check_reprint_view, name="check_reprint"),
    path("checks/<int:pk>/print/", checks.check_print_view, name="check_print"),
    path("checks/<int:pk>/void/", checks.check_void_view, name="check_void"),
    path("invoices/", invoices.invoices_view, name="invoices"),
    path("invoices/new/", invoices.invoice_new_view, name="invoice_new"),
    path("invoices/<int:pk>/", invoices.invoice_detail_view, name="invoice_detail"),
    path("invoices/<int:pk>/advance/", invoices.invoice_advance_view, name="invoice_advance"),
    path("invoices/<int:pk>/void/", invoices.invoice_void_view, name="invoice_void"),
    path(
        "bank-accounts/<int:pk>/statements/",
        statements.bank_statements_view,
        name="bank_statements",
    ),
    path("bank-accounts/<int:pk>/csv-mapping/", statements.csv_mapping_view, name="csv_mapping"),
    path("statements/<int:pk>/", statements.statement_detail_view, name="statement_detail"),
    # Reconciling a bank account (issue 11)
    path("bank-accounts/<int:pk>/reconcile/", bank.bank_reconcile_view, name="bank_reconcile"),
    path("bank-accounts/<int:pk>/auto-match/", bank.bank_auto_match_view, name="bank_auto_match"),
    path("statement-lines/<int:pk>/match/", bank.line_match_view, name="line_match"),
    path(
        "statement-lines/<int:pk>/match/total/",
        bank.line_match_total_view,
        name="line_match_total",
    ),
    path("statement-lines/<int:pk>/unmatch/", bank.line_unmatch_view, name="line_unmatch"),
    path("statement-lines/<int:pk>/set-aside/", bank.line_set_aside_view, name="line_set_aside"),
    path("statement-lines/<int:pk>/record/", bank.line_record_view, name="line_record"),
    path(
        "bank-accounts/<int:pk>/reconciliation/",
        reconciliations.bank_reconciliation_view,
        name="bank_reconciliation",
    ),
    path(
        "bank-accounts/<int:pk>/reconciliation/prepare/",
        reconciliations.reconciliation_prepare_view,
        name="reconciliation_prepare",
    ),
    path("bank-accounts/<int:pk>/reopen/", reconciliations.bank_reopen_view, name="bank_reopen"),
    path(
        "reconciliations/<int:pk>/sign/",
        reconciliations.reconciliation_sign_view,
        name="reconciliation_sign",
    ),
    path(
        "reconciliations/<int:pk>/pdf/",
        reconciliations.reconciliation_pdf_view,
        name="reconciliation_pdf",
    ),
    path(
        "reconciliations/<int:pk>/csv/<str:which>/",
        reconciliations.reconciliation_csv_view,
        name="reconciliation_csv",
    ),
    path("reports/", reports.reports_index_view, name="reports"),
    path("reports/trial-balance/", reports.trial_balance_view, name="trial_balance"),
    path("reports/client-ledger/", reports.client_ledger_view, name="client_ledger"),
    path("reports/trust-journal/", reports.trust_journal_view, name="trust_journal"),
    path("reports/beancount/", exports.beancount_export_view, name="beancount_export"),
    path("journal/", journal.journal_view, name="journal"),
    path("journal/new/", journal.journal_entry_new_view, name="journal_entry_new"),
    path("journal/<int:pk>/", journal.journal_entry_view, name="journal_entry"),
    path(
        "journal/<int:pk>/reverse/",
        journal.journal_entry_reverse_view,
        name="journal_entry_reverse",
    ),
    path("reports/reconciliation/", reports.reconciliation_view, name="reconciliation"),
    # The gear menu (firm administrators)
    path("settings/users/", users.users_view, name="users"),
    path("settings/users/new/", users.user_create_view, name="user_new"),
    path("settings/users/<int:pk>/edit/", users.user_edit_view, name="user_edit"),
    path(
        "settings/",
        RedirectView.as_view(pattern_name="books:settings_features", permanent=False),
        name="settings",
    ),
    path("settings/general/", settings.settings_general_view, name="settings_general"),
    path("settings/features/", settings.settings_features_view, name="settings_features"),
    path(
        "settings/opening-date/",
        settings.settings_opening_date_view,
        name="settings_opening_date",
    ),
    path("settings/time-zone/", settings.settings_time_zone_view, name="settings_time_zone"),
    path(
        "settings/closed-periods/",
        settings.settings_closed_periods_view,
        name="settings_closed_periods",
    ),
    path("settings/areas/", settings.areas_view, name="areas"),
    path("settings/areas/new/", settings.area_create_view, name="area_new"),
    path("settings/areas/<int:pk>/edit/", settings.area_edit_view, name="area_edit"),
    path(
        "settings/rates-codes/",
        RedirectView.as_view(pattern_name="books:activity_codes", permanent=False),
        name="rates_codes",
    ),
    path(
        "settings/rates-codes/activity-codes/",
        settings.activity_codes_view,
        name="activity_codes",
    ),
    path(
        "settings/rates-codes/activity-codes/new/",
        settings.activity_code_create_view,
        name="activity_code_new",
    ),
    path(
        "settings/rates-codes/activity-codes/<int:pk>/edit/",
        settings.activity_code_edit_view,
        name="activity_code_edit",
    ),
    path(
        "settings/rates-codes/activity-codes/utbms/",
        settings.activity_codes_utbms_view,
        name="activity_codes_utbms",
    ),
    path("settings/rates-codes/timekeepers/", settings.timekeepers_view, name="timekeepers"),
    path("settings/accounts/", settings.accounts_view, name="accounts"),
    path("settings/accounts/new/", settings.account_create_view, name="account_new"),
    path("settings/accounts/<int:pk>/edit/", settings.account_edit_view, name="account_edit"),
    path("settings/bank-accounts/", settings.bank_accounts_view, name="bank_accounts"),
    path(
        "settings/bank-accounts/<int:pk>/check-printing/",
        settings.bank_check_printing_view,
        name="bank_check_printing",
    ),
    path(
        "settings/bank-accounts/<int:pk>/positive-pay/",
        settings.bank_positive_pay_layout_view,
        name="bank_positive_pay_layout",
    ),
    path("settings/audit/", audit.audit_view, name="audit"),
    # --- ACH payments (issue 15, ADR 0046) ---
    path("ach/", ach.ach_view, name="ach"),
    path("ach/file/", ach.ach_batch_create_view, name="ach_batch_new"),
    path("ach/files/<int:pk>/nacha/", ach.ach_batch_file_view, name="ach_batch_file"),
    path("ach/files/<int:pk>/sent/", ach.ach_batch_sent_view, name="ach_batch_sent"),
    path("ach/<int:pk>/return/", ach.ach_return_view, name="ach_return"),
    path("ach/<int:pk>/cancel/", ach.ach_cancel_view, name="ach_cancel"),
    path("ach/payees/new/", ach.payee_bank_new_view, name="payee_bank_new"),
    path(
        "contacts/<int:pk>/bank-details/",
        ach.contact_bank_details_view,
        name="contact_bank_details",
    ),
    path(
        "settings/bank-accounts/<int:pk>/ach/", ach.bank_ach_settings_view, name="bank_ach_settings"
    ),
    path("files/<int:pk>/ach/", ach.file_ach_payment_view, name="file_ach"),
    # LEDES e-billing (issue 15, ADR 0044)
    path("invoices/<int:pk>/ledes/", ledes.invoice_ledes_view, name="invoice_ledes"),
    path("invoices/ledes/", ledes.invoices_ledes_view, name="invoices_ledes"),
    path("settings/ledes/", ledes.ledes_settings_view, name="ledes_settings"),
    path("files/<int:pk>/ledes/", ledes.file_ledes_view, name="file_ledes"),
    path(
        "settings/rates-codes/timekeepers/<int:pk>/ledes/",
        ledes.timekeeper_ledes_view,
        name="timekeeper_ledes",
    ),
    # a line's UTBMS codes (ADR 0054)
    path(
        "invoices/<int:pk>/lines/<int:line_pk>/utbms/",
        ledes.invoice_line_codes_view,
        name="invoice_line_codes",
    ),
    # 1099 payees (issue 15, ADR 0045)
    path("reports/1099/", tax1099.tax1099_report_view, name="tax1099"),
    path("reports/1099/csv/", tax1099.tax1099_csv_view, name="tax1099_csv"),
    path("reports/1099/payees/new/", tax1099.tax_payee_new_view, name="tax_payee_new"),
    path("contacts/<int:pk>/1099/", tax1099.tax_payee_edit_view, name="tax_payee_edit"),
    path("contacts/<int:pk>/1099/tin/", tax1099.tax_payee_reveal_view, name="tax_payee_reveal"),
    path("checks/<int:pk>/1099/", tax1099.check_tax1099_view, name="check_tax1099"),
    # Exports of every report and list, and the background export jobs (issue 15, ADR 0043)
    path("exports/", exports.export_jobs_view, name="export_jobs"),
    path(
        "exports/jobs/<int:pk>/download/",
        exports.export_job_download_view,
        name="export_job_download",
    ),
    path("exports/jobs/<int:pk>/retry/", exports.export_job_retry_view, name="export_job_retry"),
    path("exports/<slug:report>/", exports.report_export_view, name="report_export"),
    # Financial statements (issue 15, ADR 0042)
    path("reports/profit-and-loss/", financial.profit_and_loss_view, name="profit_and_loss"),
    path("reports/balance-sheet/", financial.balance_sheet_view, name="balance_sheet"),
    path("reports/general-ledger/", financial.general_ledger_view, name="general_ledger"),
    path("reports/cost-advances/", financial.cost_advances_view, name="cost_advances"),
]
