"""What the bridge remembers: the connection, the mappings between the two systems, and the
outbox through which everything reaches the books exactly once.

- :class:`Connection`: one per cases firm. The books' address, the integration user, the
  token (encrypted at rest, never shown), the defaults chosen at activation.
- :class:`CostCodeMapping`: a cost code -> a books activity code posting to Advanced client
  costs (else the code of the same UTBMS code, else the cost posting reference).
- :class:`CaseLink` / :class:`CostLink`: a case's books file, a cost's books check.
- :class:`DepositLink`: a deposit's trust receipt. :class:`TrustItemLink`: a To Be
  Disbursed payment's trust check. :class:`FeeInvoice`: a case's fee invoice in the books
  (fee, charges and cost reimbursement, paid from trust).
- :class:`OutboxItem`: one thing to tell the books, written in the same transaction as the
  user's action and delivered by a worker with an idempotency key (ADR 0005).
- :class:`SyncRun`: one pass of the check-status sync (scheduled or on demand).
- :class:`BooksJob`: a question to the books a user asked for (a sign-in, a withdrawal's
  check, the three-way reconciliation), answered by the worker (ADR 0008).

A web request never calls the books (ADR 0008): what the screens need from them is what
the worker last read, kept here with its time (the readiness report and the books'
accounts, codes and users on the :class:`Connection`, each file's trust balance on its
:class:`CaseLink`); what a user asks of the books now is a queued run or job that the
screens and the API poll.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from casebridge.cases.models import Case, Cost, CostCode, Deposit, Firm, TrustItem, User
from casebridge.core.logs import current_request_id
from casebridge.core.money import format_cents


class ConnectionStatus(models.TextChoices):
    #: Pop-up 1 done (credentials verified, token stored); the defaults are still missing.
    NEEDS_DEFAULTS = "needs_defaults", "Needs defaults"
    CONNECTED = "connected", "Connected"
    DEACTIVATED = "deactivated", "Deactivated"


class RunState(models.TextChoices):
    """Where an on-demand run or job stands: asked for, taken by the worker, answered."""

    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


#: A run or job still waiting for the worker's answer.
PENDING = (RunState.QUEUED, RunState.RUNNING)


class InvoiceRelease(models.TextChoices):
    AUTOMATIC = "automatic", "Released automatically"
    REVIEW = "review", "Reviewed in the books"


class Connection(models.Model):
    firm = models.OneToOneField(Firm, on_delete=models.PROTECT, related_name="books_connection")
    status = models.CharField(max_length=20, choices=ConnectionStatus.choices)
    books_url = models.URLField(max_length=300, help_text="Ends in /books/api/v1")
    books_firm_code = models.CharField(max_length=40)
    username = models.CharField(max_length=254)
    books_user_id = models.BigIntegerField(null=True, blank=True)
    #: The books' bearer token, Fernet-encrypted with a key from the environment.
    token_ciphertext = models.TextField(blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    #: Set when the books refused the token (lapsed or revoked) before its expiry time.
    auth_lapsed_at = models.DateTimeField(null=True, blank=True)
    #: Pop-up 2's default cost posting reference: the books activity code a cost advance
    #: posts to when its cost code has no mapping of its own (ADR 0010). It must post to an
    #: asset account of the advanced-costs role; the readiness check refuses otherwise.
    cost_posting_code_id = models.BigIntegerField(null=True, blank=True)
    cost_posting_code_label = models.CharField(max_length=200, blank=True)
    operating_account_id = models.BigIntegerField(null=True, blank=True)
    operating_account_name = models.CharField(max_length=120, blank=True)
    trust_account_id = models.BigIntegerField(null=True, blank=True)
    trust_account_name = models.CharField(max_length=120, blank=True)
    invoice_release = models.CharField(
        max_length=10, choices=InvoiceRelease.choices, default=InvoiceRelease.REVIEW
    )
    #: Found by the readiness check: the books' Personal Injury area and COPP activity code.
    pi_area_id = models.BigIntegerField(null=True, blank=True)
    copp_activity_code_id = models.BigIntegerField(null=True, blank=True)
    #: Found by the readiness check: the Property Damage activity code (fee invoices).
    pd_activity_code_id = models.BigIntegerField(null=True, blank=True)
    #: Hour of the day (firm's time zone) of the scheduled check-status sync.
    check_sync_hour = models.PositiveSmallIntegerField(default=2)
    last_check_sync_at = models.DateTimeField(null=True, blank=True)
    #: The delivery run working for this firm, and until when (a lease, not a lock: a run
    #: whose worker died is replaced when it runs out).
    delivery_owner = models.CharField(max_length=32, blank=True)
    delivery_lease_until = models.DateTimeField(null=True, blank=True)
    #: The last readiness report (see services.readiness), shown until the next run.
    readiness = models.JSONField(default=list, blank=True)
    #: When the worker last read the books (the report and the snapshot below).
    readiness_checked_at = models.DateTimeField(null=True, blank=True)
    #: The books' activity codes as the last readiness run read them (id, code, name,
    #: UTBMS code, GL account and its type and role): what cost codes map to automatically
    #: (same UTBMS code) and what a mapping is checked against, without asking the books.
    activity_codes = models.JSONField(default=list, blank=True)
    #: What else the worker last read from the books for the screens (services.snapshot):
    #: their bank accounts and users, as plain data.
    books_snapshot = models.JSONField(default=dict, blank=True)
    #: A refresh asked for (by a user, a stale screen, a change of defaults) and not yet done.
    refresh_requested_at = models.DateTimeField(null=True, blank=True)
    #: The worker's last attempt, and why it could not read the books ("" when it could).
    refresh_attempted_at = models.DateTimeField(null=True, blank=True)
    refresh_error = models.CharField(max_length=1000, blank=True)
    #: A refresh of the files' trust balances asked for and not yet done.
    trust_refresh_requested_at = models.DateTimeField(null=True, blank=True)
    #: When the worker last read every linked file's trust balance at once (a whole-firm
    #: reconciliation): a case link made before it was read then too, without its own
    #: ``books_trust_read_at`` being written (``balances.balance_read_at``).
    trust_balances_read_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(check_sync_hour__lte=23), name="bridge_connection_sync_hour"
            ),
            models.CheckConstraint(
                condition=~Q(status="connected")
                | (Q(operating_account_id__isnull=False) & Q(trust_account_id__isnull=False)),
                name="bridge_connected_has_defaults",
            ),
        ]

    def __str__(self) -> str:
        return f"Books connection of firm {self.firm_id} ({self.status})"


class CostCodeMapping(models.Model):
    """A cost code's activity code in the books, chosen by an administrator. Unmapped
    codes go with the books' code of the same UTBMS code, else the cost posting reference."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    cost_code = models.OneToOneField(
        CostCode, on_delete=models.PROTECT, related_name="books_mapping"
    )
    activity_code_id = models.BigIntegerField()
    activity_code_label = models.CharField(max_length=200)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.cost_code_id} -> {self.activity_code_label}"


class CaseLink(models.Model):
    """A case's client contact and file in the books (found or created on first sync)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="books_link")
    books_file_id = models.BigIntegerField()
    books_file_number = models.CharField(max_length=40)
    books_client_id = models.BigIntegerField()
    linked_at = models.DateTimeField()
    #: The file's trust balance as the worker last read it, and when it read this file
    #: alone (a whole-firm read is kept on the connection: ``balances.balance_read_at``).
    books_trust_cents = models.BigIntegerField(null=True, blank=True)
    books_trust_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Case {self.case_id} = books file {self.books_file_number}"


class CheckState(models.TextChoices):
    """How the check the books made of a request stands, as the worker last read it. A
    payment the books pay by ACH (ADR 0046) is never printed: it moves through the ACH
    states instead (ADR 0055); returned by the bank or cancelled, its check is void."""

    QUEUED = "queued", "Queued for printing"
    PRINTED = "printed", "Printed"
    VOID = "void", "Void"
    #: The books no longer know the check: shown as a problem, never silently dropped.
    MISSING = "missing", "Missing in the books"
    ACH_QUEUED = "ach_queued", "ACH payment queued"
    ACH_IN_FILE = "ach_file", "ACH payment in a file"
    #: The file went to the bank: the payment is made (the cost Paid, the trust payment
    #: Disbursed), as a check is when printed.
    ACH_SENT = "ach_sent", "ACH payment sent"
    ACH_CLEARED = "ach_clear", "ACH payment cleared"


#: The states of a payment the books pay by ACH.
ACH_STATES = (
    CheckState.ACH_QUEUED,
    CheckState.ACH_IN_FILE,
    CheckState.ACH_SENT,
    CheckState.ACH_CLEARED,
)
#: Sent to the bank: paid on the cases side, while the books' check stays queued (it is
#: never printed).
PAID_BY_ACH = (CheckState.ACH_SENT, CheckState.ACH_CLEARED)
#: The books hold the payment out of trust (they post a check when it is requested) but
#: have not paid it out yet: queued for printing, or by ACH queued or in a file not yet
#: sent. While its trust payment is still To Be Disbursed here, the reconciliation and the
#: settlement screen count it as requested, not as a difference (ADR 0055).
HELD_NOT_PAID = (CheckState.QUEUED, CheckState.ACH_QUEUED, CheckState.ACH_IN_FILE)
#: How the screens say each: what became of the request in the books.
ACH_NOTES = {
    CheckState.ACH_QUEUED: "Paid by ACH in the books: queued for the next ACH file",
    CheckState.ACH_IN_FILE: "Paid by ACH in the books: in an ACH file for the bank",
    CheckState.ACH_SENT: "Paid by ACH: sent to the bank",
    CheckState.ACH_CLEARED: "Paid by ACH: cleared the bank",
}
#: The longest state (the links' ``check_state`` columns): kept at 10, as widening it would
#: rebuild the link tables on SQLite, which the case digests' triggers on the cases tables
#: name.
CHECK_STATE_LENGTH = 10


class CostLink(models.Model):
    """A cost sent to the books, and the check it became there."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    cost = models.OneToOneField(Cost, on_delete=models.PROTECT, related_name="books_link")
    #: What the books know this cost by (the check's external_ref); never changes.
    external_ref = models.CharField(max_length=120, unique=True)
    bank_account_id = models.BigIntegerField()
    books_check_id = models.BigIntegerField(null=True, blank=True)
    check_state = models.CharField(
        max_length=CHECK_STATE_LENGTH, choices=CheckState.choices, blank=True
    )
    check_number = models.BigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["firm", "check_state"], name="bridge_costlink_state")]

    def __str__(self) -> str:
        return f"Cost {self.cost_id} -> check {self.books_check_id}"


class DepositLink(models.Model):
    """A settlement check deposited on the cases side, and the trust receipt it became in
    the books (issue 5: trust balances)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    deposit = models.OneToOneField(Deposit, on_delete=models.PROTECT, related_name="books_link")
    #: What the books know this deposit by (the receipt's external_ref); never changes.
    external_ref = models.CharField(max_length=120, unique=True)
    bank_account_id = models.BigIntegerField()
    books_receipt_id = models.BigIntegerField(null=True, blank=True)
    receipt_state = models.CharField(max_length=10, blank=True)  # posted, voided
    #: Why a receipt voided in the books could not void the deposit here (shown, counted).
    problem = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Deposit {self.deposit_id} -> receipt {self.books_receipt_id}"


class TrustItemLink(models.Model):
    """A To Be Disbursed payment (a lien, a third party, the client's final check) sent to
    the books as a trust check request, and the check it became there."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    trust_item = models.OneToOneField(
        TrustItem, on_delete=models.PROTECT, related_name="books_link"
    )
    #: What the books know the check by; a new one after the books voided the last check.
    external_ref = models.CharField(max_length=120, unique=True)
    #: 1 for the first check; each "Send again" after a void in the books adds one.
    generation = models.PositiveIntegerField(default=1)
    bank_account_id = models.BigIntegerField()
    amount_cents = models.BigIntegerField()
    books_check_id = models.BigIntegerField(null=True, blank=True)
    check_state = models.CharField(
        max_length=CHECK_STATE_LENGTH, choices=CheckState.choices, blank=True
    )
    check_number = models.BigIntegerField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)

    class Meta:
        indexes = [models.Index(fields=["firm", "check_state"], name="bridge_itemlink_state")]

    def __str__(self) -> str:
        return f"Trust item {self.trust_item_id} -> check {self.books_check_id}"


class InvoiceStage(models.TextChoices):
    """The books' invoice stages, plus "" while the invoice is on its way."""

    DRAFT = "draft", "Draft"
    REVIEW = "review", "Review"
    RELEASE = "release", "Release"
    FINAL = "final", "Final"
    VOIDED = "voided", "Voided"


class FeeInvoice(models.Model):
    """A case's fee invoice: the fee as the attorney's time entry, the COPP charges and the
    Property Damage Fee with their activity codes, and the reimbursement of each advanced
    cost, paid from the client's trust when final. ``lines`` is the plain data sent, each
    line naming its source on the cases side."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="books_fee_invoices")
    external_ref = models.CharField(max_length=120, unique=True)
    release = models.CharField(max_length=10, choices=InvoiceRelease.choices)
    total_cents = models.BigIntegerField()
    lines = models.JSONField(default=list)
    #: The trust items it pays (fee, COPP, Property Damage Fee, cost reimbursement).
    trust_item_ids = models.JSONField(default=list)
    books_invoice_id = models.BigIntegerField(null=True, blank=True)
    books_invoice_number = models.BigIntegerField(null=True, blank=True)
    stage = models.CharField(max_length=10, choices=InvoiceStage.choices, blank=True)
    finalised_on = models.DateField(null=True, blank=True)
    last_synced_at = models.DateTimeField(null=True, blank=True)
    problem = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(total_cents__gt=0), name="bridge_fee_invoice_positive"
            ),
            # a case has at most one fee invoice that is not voided
            models.UniqueConstraint(
                fields=["case"], condition=~Q(stage="voided"), name="bridge_one_live_fee_invoice"
            ),
        ]

    def __str__(self) -> str:
        return f"Fee invoice of case {self.case_id} ({self.stage or 'on its way'})"


class OutboxKind(models.TextChoices):
    COST_SEND = "cost_send", "Send cost"
    COST_VOID = "cost_void", "Void cost's check"
    DEPOSIT_RECEIPT = "deposit_receipt", "Record deposit in trust"
    DEPOSIT_VOID = "deposit_void", "Reverse deposit's trust receipt"
    TRUST_CHECK = "trust_check", "Request trust check"
    FEE_INVOICE = "fee_invoice", "Create fee invoice"


class OutboxState(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    WAITING = "waiting", "Waiting for re-authentication"
    CANCELLED = "cancelled", "Cancelled"


#: States in which an item still has to reach the books (it holds back its case's later items).
UNFINISHED = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.FAILED, OutboxState.WAITING)


class OutboxItem(models.Model):
    """One thing to tell the books. Written in the user's transaction; delivered by the
    worker with ``key`` as its idempotency key; items of one case go in id order."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="+")
    cost = models.ForeignKey(
        Cost, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    deposit = models.ForeignKey(
        Deposit, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    trust_item = models.ForeignKey(
        TrustItem, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    fee_invoice = models.ForeignKey(
        FeeInvoice, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=OutboxKind.choices)
    state = models.CharField(max_length=10, choices=OutboxState.choices, default=OutboxState.QUEUED)
    key = models.CharField(max_length=64, unique=True)
    #: Plain data captured when the user acted (amount, payee, bank account...).
    payload = models.JSONField(default=dict)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    #: A claimed item belongs to the worker holding ``claim`` until ``lease_until``.
    claim = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    result = models.JSONField(null=True, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    #: The id of the web request that queued it (core.logs), "" when the worker did: the
    #: worker logs its delivery under it and sends it to the books as X-Request-ID.
    request_id = models.CharField(max_length=128, blank=True, default=current_request_id)

    class Meta:
        indexes = [
            models.Index(fields=["firm", "state", "next_attempt_at"], name="bridge_outbox_due"),
            models.Index(fields=["firm", "state", "-id"], name="bridge_outbox_queue"),
            models.Index(fields=["case", "state"], name="bridge_outbox_case"),
            # the scrape's counts and oldest ages read the unfinished items only
            models.Index(
                fields=["kind", "state", "created_at"],
                condition=Q(state__in=("queued", "sending", "failed", "waiting")),
                name="bridge_outbox_unfinished",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=("cost_send", "cost_void"), cost__isnull=False)
                | Q(kind__in=("deposit_receipt", "deposit_void"), deposit__isnull=False)
                | Q(kind="trust_check", trust_item__isnull=False)
                | Q(kind="fee_invoice", fee_invoice__isnull=False),
                name="bridge_outbox_item_names_its_subject",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} ({self.state})"

    @property
    def described(self) -> str:
        """The item as its row in the sync queue shows it, by its kind, subject and case (its
        id is no one's business): "Send cost: Records Inc $125.00, case PI-000001". Names
        the row's actions for a screen reader ("Retry Send cost: ...")."""
        if self.cost is not None:
            subject = f"{self.cost.payee.name} {format_cents(self.cost.amount_cents)}"
        elif self.deposit is not None:
            subject = (
                f"Settlement check {self.deposit.check_number} "
                f"{format_cents(self.deposit.amount_cents)}"
            )
        elif self.trust_item is not None:
            subject = f"{self.trust_item.payee_name} {format_cents(self.trust_item.amount_cents)}"
        elif self.fee_invoice is not None:
            subject = f"Fee invoice {format_cents(self.fee_invoice.total_cents)}"
        else:
            subject = ""
        what = f"{self.get_kind_display()}: {subject}" if subject else self.get_kind_display()
        return f"{what}, case {self.case.number}"


#: Upper bounds (seconds) of the delivery latency histogram's buckets; past the last: +Inf.
DELIVERY_LATENCY_BUCKETS = (1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600)


class DeliveryLatency(models.Model):
    """The delivery latency histogram (``/metrics``), kept in the database because the
    worker that observes it is not the web process that is scraped (and may be on another
    machine): per kind, how many items took from being queued to being acknowledged by
    the books at most ``DELIVERY_LATENCY_BUCKETS[bucket]`` seconds (and more than the
    bucket before; ``bucket == len(DELIVERY_LATENCY_BUCKETS)``: longer), and their total
    in milliseconds. Counts only grow; the scrape makes them cumulative."""

    kind = models.CharField(max_length=20, choices=OutboxKind.choices)
    bucket = models.PositiveSmallIntegerField()
    items = models.BigIntegerField(default=0)
    total_ms = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "bucket"], name="bridge_latency_one_row"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} bucket {self.bucket}: {self.items}"


class SyncTrigger(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    MANUAL = "manual", "On demand"


class SyncRun(models.Model):
    """One pass of the check-status sync: what it looked at and what it changed. One asked
    for on demand is queued, then run by the worker (ADR 0008)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    #: The costs an on-demand run looks at (None: every sent cost and the settlement money).
    cost_ids = models.JSONField(null=True, blank=True)
    started_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    checked = models.PositiveIntegerField(default=0)
    paid = models.PositiveIntegerField(default=0)
    voided = models.PositiveIntegerField(default=0)
    #: Trust payments whose check was printed, and fee invoices that became final.
    disbursed = models.PositiveIntegerField(default=0)
    invoices_final = models.PositiveIntegerField(default=0)
    problems = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        indexes = [models.Index(fields=["firm", "-started_at"], name="bridge_syncrun_recent")]

    def __str__(self) -> str:
        return f"Check sync {self.pk} of firm {self.firm_id}"


class CaseDigest(models.Model):
    """The digest (:mod:`casebridge.core.digest`) of the documents the books must hold for
    a case (``casebridge.bridge.digest_sources`` says which): kept by triggers on the cost,
    deposit, trust item, link and fee invoice tables (ADR 0030), read by the whole-firm
    reconciliation. A group emptied stays as zeros. No foreign keys: the triggers write it
    whatever is deleted around it."""

    firm = models.ForeignKey(
        Firm, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    documents = models.BigIntegerField(default=0)
    cents = models.BigIntegerField(default=0)
    #: the sum of the rows' 60-bit hashes modulo 2**60
    hash = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["firm", "case"], name="bridge_casedigest_key")
        ]

    def __str__(self) -> str:
        return f"digest of {self.documents} documents"


class CaseDigestDelta(models.Model):
    """What one statement moved a case digest by (ADR 0035): on PostgreSQL the triggers
    only ever INSERT these (one row per case a statement moved), so writers never wait on
    each other for a shared digest row; a read sums the kept :class:`CaseDigest` and its
    deltas, and the compaction (``case_digests_compact``) folds them into it. SQLite's row
    triggers keep updating :class:`CaseDigest` directly (it serialises writers): there
    this table holds only a rebuild's correction, for the moment before it is folded."""

    firm = models.ForeignKey(
        Firm, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    documents = models.BigIntegerField()
    cents = models.BigIntegerField()
    #: the moved rows' hashes summed modulo 2**60
    hash = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["firm", "case"], name="bridge_casedigestdelta_key")]

    def __str__(self) -> str:
        return f"digest moved by {self.documents} documents"


class ReconciliationRun(models.Model):
    """One comparison of both sides (the whole firm, or one case): costs sent vs checks,
    deposits vs trust receipts, payments vs trust checks, fee invoices, and each file's
    trust balance. Clean when it finished without error and found no difference."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    #: Set for a run of one case (from its page); None for the whole firm.
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True)
    trigger = models.CharField(max_length=10, choices=SyncTrigger.choices)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    started_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    cases_compared = models.PositiveIntegerField(default=0)
    documents_compared = models.PositiveIntegerField(default=0)
    #: Sent but not yet answered by the books: not counted as differences.
    in_flight = models.PositiveIntegerField(default=0)
    differences = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=1000, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["firm", "case", "-started_at"], name="bridge_recrun_recent")
        ]

    def __str__(self) -> str:
        return f"Reconciliation {self.pk} of firm {self.firm_id}"

    @property
    def is_clean(self) -> bool:
        return self.finished_at is not None and not self.error and self.differences == 0


class DifferenceKind(models.TextChoices):
    COST = "cost", "Cost vs check"
    DEPOSIT = "deposit", "Deposit vs trust receipt"
    PAYMENT = "payment", "Payment vs trust check"
    INVOICE = "invoice", "Fee invoice"
    TRUST_BALANCE = "trust_balance", "Trust balance"
    UNKNOWN = "unknown", "In the books only"


class DifferenceFix(models.TextChoices):
    """What the screen offers to put a difference right."""

    NONE = "", "—"
    SEND = "send", "Send to the books"
    RETRY = "retry", "Retry"
    SYNC = "sync", "Sync statuses"
    SEND_AGAIN = "send_again", "Send the check again"


class ReconciliationDifference(models.Model):
    """One difference found by a run, with its cause and what would fix it."""

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="found")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, null=True, blank=True)
    kind = models.CharField(max_length=20, choices=DifferenceKind.choices)
    #: What is compared, as the user knows it ("Cost of 2026-11-02 to Records Inc for $125.00").
    subject = models.CharField(max_length=300)
    cause = models.CharField(max_length=1000)
    cases_cents = models.BigIntegerField(null=True, blank=True)
    books_cents = models.BigIntegerField(null=True, blank=True)
    fix = models.CharField(max_length=12, choices=DifferenceFix.choices, blank=True)
    #: The record the fix acts on (a cost, a deposit, a trust item, an outbox item), by id.
    fix_target_id = models.BigIntegerField(null=True, blank=True)
    fixed_at = models.DateTimeField(null=True, blank=True)
    fixed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.subject}"


class JobKind(models.TextChoices):
    SIGN_IN = "sign_in", "Sign in to the books"
    WITHDRAW = "withdraw", "Withdraw a failed send"
    THREE_WAY = "three_way", "Three-way reconciliation"


class BooksJob(models.Model):
    """A question to the books a user asked for, answered by the worker (ADR 0008): a
    sign-in (activation, re-authentication), whether the books hold a failed send after
    all (withdrawal), the three-way reconciliation. ``params`` is what the user gave
    (never a secret); ``result`` what the worker found; a refusal is ``error_*``.

    A sign-in's password is kept only Fernet-encrypted (the bridge's keys), only while the
    job is queued: the worker erases it in the same UPDATE that takes the job, before it
    calls the books (the database refuses a secret on a job that is not queued)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    kind = models.CharField(max_length=20, choices=JobKind.choices)
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    params = models.JSONField(default=dict, blank=True)
    secret_ciphertext = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    error_code = models.CharField(max_length=80, blank=True)
    error_message = models.CharField(max_length=1000, blank=True)
    error_field = models.CharField(max_length=80, blank=True)
    requested_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    requested_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["firm", "kind", "-requested_at"], name="bridge_job_recent"),
            models.Index(fields=["state", "requested_at"], name="bridge_job_pending"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(secret_ciphertext="") | Q(state="queued"),
                name="bridge_job_secret_only_while_queued",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.state})"


class BooksAddressConfirmation(models.Model):
    """A books host and port a firm administrator confirmed the bridge may reach (issue 13):
    added to the server's allow-list (``CASEBRIDGE_BOOKS_ALLOWED_HOSTS``) for this firm,
    private network addresses included; loopback and cloud metadata addresses never. The
    host is kept in its canonical form (``bridge.outbound``): a lower-case name or an IP
    address as ``ipaddress`` writes it."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    confirmed_by = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    confirmed_at = models.DateTimeField()

    class Meta:
        ordering = ["host", "port"]
        constraints = [
            models.UniqueConstraint(fields=["firm", "host", "port"], name="bridge_address_once"),
            models.CheckConstraint(
                condition=Q(port__gte=1) & Q(port__lte=65535), name="bridge_address_port_range"
            ),
        ]

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"
