"""The bridge's screens, under /cases/integrations/books/ (views in casebridge.bridge.views)."""

from django.urls import path

from casebridge.bridge.views import (
    addresses,
    connection,
    costs,
    mappings,
    queue,
    readiness,
    reconciliation,
    settlement,
)

app_name = "bridge"

urlpatterns = [
    path("activate/", connection.activate_view, name="activate"),
    path("defaults/", connection.defaults_view, name="defaults"),
    path("deactivate/", connection.deactivate_view, name="deactivate"),
    path("reauthenticate/", connection.reauthenticate_view, name="reauthenticate"),
    path("addresses/", addresses.address_confirm_view, name="address_confirm"),
    path("addresses/<int:pk>/remove/", addresses.address_remove_view, name="address_remove"),
    path("sign-ins/<int:pk>/", connection.sign_in_view, name="sign_in"),
    path("jobs/<int:pk>/", queue.job_view, name="job"),
    path("readiness/", readiness.readiness_view, name="readiness"),
    path("queue/", queue.queue_view, name="queue"),
    path("queue/retry/", queue.queue_retry_view, name="queue_retry"),
    path("queue/progress/", queue.send_progress_view, name="send_progress"),
    path("queue/<int:pk>/withdraw/", queue.item_withdraw_view, name="item_withdraw"),
    path("mappings/", mappings.mappings_view, name="mappings"),
    path("mappings/<int:pk>/", mappings.mapping_edit_view, name="mapping_edit"),
    path("costs/<int:pk>/send/", costs.cost_send_view, name="cost_send"),
    path("costs/<int:pk>/split-send/", costs.cost_split_send_view, name="cost_split_send"),
    path("costs/<int:pk>/sync/", costs.cost_sync_view, name="cost_sync"),
    path("sync/", costs.sync_view, name="sync"),
    path("sync/<int:pk>/", costs.sync_run_view, name="sync_run"),
    path("sync/settlement/", settlement.settlement_sync_view, name="settlement_sync"),
    path("reconciliation/", reconciliation.reconciliation_view, name="reconciliation"),
    path("reconciliation/run/", reconciliation.reconciliation_run_view, name="reconciliation_run"),
    path(
        "reconciliation/runs/<int:pk>/",
        reconciliation.reconciliation_run_status_view,
        name="reconciliation_run_status",
    ),
    path(
        "reconciliation/differences/<int:pk>/fix/",
        reconciliation.reconciliation_fix_view,
        name="reconciliation_fix",
    ),
    path("three-way/", reconciliation.three_way_view, name="three_way"),
    path(
        "cases/<int:pk>/fee-invoice/", settlement.fee_invoice_create_view, name="fee_invoice_create"
    ),
    path(
        "trust-items/<int:pk>/send-again/",
        settlement.trust_check_send_again_view,
        name="trust_check_send_again",
    ),
]
