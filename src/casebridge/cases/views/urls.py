"""The cases side's screen URLs (included by casebridge.cases.urls, under /cases/)."""

from __future__ import annotations

from django.urls import URLPattern, path

from casebridge.cases.views import (
    account,
    audit_trail,
    auth,
    cases,
    client_trust,
    costs,
    costs_management,
    dashboard,
    deadlines,
    exports,
    lien_reductions,
    medical,
    medicare,
    search,
    settings,
    settlement,
    statement,
)

urlpatterns: list[URLPattern] = [
    # Sign-in
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    *account.SCREENS.urlpatterns(),
    # The home page (what needs someone today) and the global search
    path("home/", dashboard.dashboard_view, name="dashboard"),
    path("search/", search.search_view, name="search"),
    # Cases and a case's tabs
    path("", cases.case_list_view, name="case_list"),
    path("new/", cases.case_create_view, name="case_new"),
    path("<int:pk>/", cases.case_detail_view, name="case_detail"),
    path("<int:pk>/edit/", cases.case_edit_view, name="case_edit"),
    path("<int:pk>/link/", cases.case_link_view, name="case_link"),
    path("<int:pk>/unlink/<int:other_pk>/", cases.case_unlink_view, name="case_unlink"),
    path("<int:pk>/costs/", costs.case_costs_view, name="case_costs"),
    path("<int:pk>/costs/new/", costs.cost_create_view, name="cost_new"),
    path("<int:pk>/settlement/", settlement.settlement_tab_view, name="case_settlement"),
    path(
        "<int:pk>/settlement/negotiations/new/",
        settlement.negotiation_create_view,
        name="negotiation_new",
    ),
    path("<int:pk>/settlement/deposits/new/", settlement.deposit_create_view, name="deposit_new"),
    path("<int:pk>/settlement/terms/", settlement.settlement_terms_view, name="settlement_terms"),
    path("<int:pk>/settlement/liens/new/", settlement.lien_create_view, name="lien_new"),
    path(
        "<int:pk>/settlement/stage/lien/<int:lien_pk>/",
        settlement.stage_view,
        {"kind": "lien"},
        name="stage_lien",
    ),
    path("<int:pk>/settlement/stage/<slug:kind>/", settlement.stage_view, name="stage"),
    path("<int:pk>/settlement/stage-all-due/", settlement.stage_all_due_view, name="stage_all_due"),
    path(
        "<int:pk>/settlement/push-client-trust/",
        settlement.push_client_trust_view,
        name="push_client_trust",
    ),
    path(
        "<int:pk>/settlement/push-disbursement/",
        settlement.push_disbursement_view,
        name="push_disbursement",
    ),
    # Costs (by id, within the user's firm)
    path("costs/<int:pk>/edit/", costs.cost_edit_view, name="cost_edit"),
    path("costs/<int:pk>/void/", costs.cost_void_view, name="cost_void"),
    path("costs/<int:pk>/pay/", costs.cost_pay_view, name="cost_pay"),
    path("costs/<int:pk>/split/", costs.cost_split_view, name="cost_split"),
    path("costs/<int:pk>/split/sum/", costs.cost_split_sum_view, name="cost_split_sum"),
    # Settlement items (by id, within the user's firm)
    path("negotiations/<int:pk>/accept/", settlement.offer_accept_view, name="offer_accept"),
    path(
        "fee-changes/<int:pk>/decide/",
        settlement.fee_change_decide_view,
        name="fee_change_decide",
    ),
    path("liens/<int:pk>/edit/", settlement.lien_edit_view, name="lien_edit"),
    path("liens/<int:pk>/accept/", settlement.lien_accept_view, name="lien_accept"),
    path("liens/<int:pk>/reopen/", settlement.lien_reopen_view, name="lien_reopen"),
    path("deposits/<int:pk>/void/", settlement.deposit_void_view, name="deposit_void"),
    path("trust-items/<int:pk>/unstage/", settlement.unstage_view, name="unstage"),
    # Costs Management and Client Trust Management
    path("costs-management/", costs_management.costs_management_view, name="costs_management"),
    path("costs-management/bulk/", costs_management.costs_bulk_view, name="costs_bulk"),
    path("client-trust/", client_trust.client_trust_view, name="client_trust"),
    # Account Settings (the user menu)
    path("settings/", settings.settings_defaults_view, name="settings"),
    path(
        "settings/opening-date/",
        settings.settings_opening_date_view,
        name="settings_opening_date",
    ),
    path("settings/time-zone/", settings.settings_time_zone_view, name="settings_time_zone"),
    path("settings/users/", settings.settings_users_view, name="settings_users"),
    path("settings/users/new/", settings.user_create_view, name="user_new"),
    path("settings/users/<int:pk>/edit/", settings.user_edit_view, name="user_edit"),
    path("settings/cost-codes/", settings.settings_cost_codes_view, name="settings_cost_codes"),
    path("settings/cost-codes/new/", settings.cost_code_create_view, name="cost_code_new"),
    path(
        "settings/integrations/",
        settings.settings_integrations_view,
        name="settings_integrations",
    ),
    # The settlement statement (closing statement): printable HTML and a PDF
    path("<int:case_id>/statement/", statement.statement_html, name="statement"),
    path("<int:case_id>/statement.pdf", statement.statement_pdf, name="statement_pdf"),
    # Lien reductions (issue 16): a lien's steps, the calculator, a scenario requested
    path(
        "liens/<int:pk>/reductions/", lien_reductions.lien_reductions_view, name="lien_reductions"
    ),
    path(
        "<int:pk>/settlement/lien-calculator/",
        lien_reductions.lien_calculator_view,
        name="lien_calculator",
    ),
    path(
        "<int:pk>/settlement/lien-calculator/request/",
        lien_reductions.lien_calculator_request_view,
        name="lien_calculator_request",
    ),
    # Medical treatment and bills (issue 16): a case's Treatment tab and its pop-ups
    path("<int:pk>/treatment/", medical.case_treatment_view, name="case_treatment"),
    path("<int:pk>/treatment/providers/new/", medical.provider_create_view, name="provider_new"),
    path("<int:pk>/treatment/new/", medical.treatment_create_view, name="treatment_new"),
    path("<int:pk>/treatment/bills/new/", medical.bill_create_view, name="bill_new"),
    path(
        "<int:pk>/treatment/requests/new/",
        medical.medical_request_create_view,
        name="medical_request_new",
    ),
    path("treatments/<int:pk>/edit/", medical.treatment_edit_view, name="treatment_edit"),
    path("bills/<int:pk>/edit/", medical.bill_edit_view, name="bill_edit"),
    path("bills/<int:pk>/void/", medical.bill_void_view, name="bill_void"),
    path("bills/<int:pk>/lien/", medical.bill_lien_view, name="bill_lien"),
    path(
        "medical-requests/<int:pk>/edit/",
        medical.medical_request_edit_view,
        name="medical_request_edit",
    ),
    # Medicare on the Settlement tab and the audit trail (issue 16)
    path("<int:pk>/medicare/beneficiary/", medicare.beneficiary_view, name="medicare_beneficiary"),
    path("<int:pk>/medicare/steps/new/", medicare.step_view, name="medicare_step"),
    path(
        "<int:pk>/medicare/steps/<int:step_id>/void/",
        medicare.step_void_view,
        name="medicare_step_void",
    ),
    path("<int:pk>/medicare/override/", medicare.override_view, name="medicare_override"),
    path(
        "<int:pk>/medicare/override/revoke/",
        medicare.revoke_view,
        name="medicare_override_revoke",
    ),
    path("<int:pk>/audit/", audit_trail.case_audit_view, name="case_audit"),
    path("<int:pk>/audit/export.csv", audit_trail.case_audit_export, name="case_audit_export"),
    path("audit/", audit_trail.firm_audit_view, name="audit"),
    path("audit/export.csv", audit_trail.firm_audit_export, name="audit_export"),
    # Statutes of limitations and deadlines (issue 16)
    path("deadlines/", deadlines.deadlines_view, name="deadlines"),
    path("deadlines/<int:pk>/satisfy/", deadlines.deadline_satisfy_view, name="deadline_satisfy"),
    path("deadlines/<int:pk>/change/", deadlines.deadline_change_view, name="deadline_change"),
    path("deadlines/reminders/read/", deadlines.reminders_read_view, name="reminders_read"),
    path("<int:pk>/deadlines/", deadlines.case_deadlines_view, name="case_deadlines"),
    path("<int:pk>/deadlines/new/", deadlines.deadline_create_view, name="deadline_new"),
    path("settings/limitation-rules/", deadlines.rules_view, name="limitation_rules"),
    path("settings/limitation-rules/new/", deadlines.rule_create_view, name="limitation_rule_new"),
    path(
        "settings/limitation-rules/<int:pk>/edit/",
        deadlines.rule_edit_view,
        name="limitation_rule_edit",
    ),
    # The lists exported (issue 15, ADR 0043)
    path("export/cases/", exports.cases_export_view, name="cases_export"),
    path("export/deadlines/", exports.deadlines_export_view, name="deadlines_export"),
    path("export/client-trust/", exports.client_trust_export_view, name="client_trust_export"),
    path("export/users/", exports.users_export_view, name="users_export"),
    path("export/cost-codes/", exports.cost_codes_export_view, name="cost_codes_export"),
    path(
        "export/limitation-rules/",
        exports.limitation_rules_export_view,
        name="limitation_rules_export",
    ),
    path("export/audit/", exports.audit_trail_export_view, name="audit_trail_export"),
    path(
        "export/cases/<int:pk>/audit/",
        exports.case_audit_trail_export_view,
        name="case_audit_trail_export",
    ),
]
