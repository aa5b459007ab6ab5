"""The bridge's screens, under /cases/integrations/books/ (filled in by views.py)."""

from django.urls import path

from casebridge.bridge import views

app_name = "bridge"

urlpatterns = [
    path("activate/", views.activate_view, name="activate"),
    path("defaults/", views.defaults_view, name="defaults"),
    path("deactivate/", views.deactivate_view, name="deactivate"),
    path("reauthenticate/", views.reauthenticate_view, name="reauthenticate"),
    path("addresses/", views.address_confirm_view, name="address_confirm"),
    path("addresses/<int:pk>/remove/", views.address_remove_view, name="address_remove"),
    path("sign-ins/<int:pk>/", views.sign_in_view, name="sign_in"),
    path("jobs/<int:pk>/", views.job_view, name="job"),
    path("readiness/", views.readiness_view, name="readiness"),
    path("queue/", views.queue_view, name="queue"),
    path("queue/retry/", views.queue_retry_view, name="queue_retry"),
    path("queue/<int:pk>/withdraw/", views.item_withdraw_view, name="item_withdraw"),
    path("mappings/", views.mappings_view, name="mappings"),
    path("mappings/<int:pk>/", views.mapping_edit_view, name="mapping_edit"),
    path("costs/<int:pk>/send/", views.cost_send_view, name="cost_send"),
    path("costs/<int:pk>/split-send/", views.cost_split_send_view, name="cost_split_send"),
    path("costs/<int:pk>/sync/", views.cost_sync_view, name="cost_sync"),
    path("sync/", views.sync_view, name="sync"),
    path("sync/<int:pk>/", views.sync_run_view, name="sync_run"),
    path("sync/settlement/", views.settlement_sync_view, name="settlement_sync"),
    path("reconciliation/", views.reconciliation_view, name="reconciliation"),
    path("reconciliation/run/", views.reconciliation_run_view, name="reconciliation_run"),
    path(
        "reconciliation/runs/<int:pk>/",
        views.reconciliation_run_status_view,
        name="reconciliation_run_status",
    ),
    path(
        "reconciliation/differences/<int:pk>/fix/",
        views.reconciliation_fix_view,
        name="reconciliation_fix",
    ),
    path("three-way/", views.three_way_view, name="three_way"),
    path("cases/<int:pk>/fee-invoice/", views.fee_invoice_create_view, name="fee_invoice_create"),
    path(
        "trust-items/<int:pk>/send-again/",
        views.trust_check_send_again_view,
        name="trust_check_send_again",
    ),
]
