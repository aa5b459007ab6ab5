"""The books' tables. Every row belongs to one firm; amounts are integer cents.

Invariants held by the database as well as by the services:
- posting amounts are non-negative and exactly one side of a posting is positive;
- a client trust ledger's balance is never negative (CHECK);
- check numbers are unique per bank account, invoice numbers per firm;
- an ``external_ref`` (another system's id) is unique per firm on contacts, files, checks,
  trust receipts and invoices, and a firm has at most one designated integration user;
- journal entries and postings are immutable and the audit log is append-only (triggers);
- on PostgreSQL every journal entry balances at commit (deferred constraint trigger).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact

from casebridge.books import utbms
from casebridge.core.models import IdempotencyRecordBase


class Firm(models.Model):
    """A tenant: one law firm's books."""

    code = models.SlugField(max_length=40, unique=True, help_text="Firm ID typed at login.")
    name = models.CharField(max_length=200)
    release_invoice_stage_enabled = models.BooleanField(default=False)
    next_invoice_number = models.PositiveIntegerField(default=1001)
    next_file_number = models.PositiveIntegerField(default=1)
    #: Nothing in the books is dated before it (ADR 0007). Unset: the first entry's date
    #: stands for it (ten years back while nothing is posted). Settings -> Opening date.
    opening_date = models.DateField(null=True, blank=True)
    #: The firm-wide period close (issue 11): no journal entry dated on or before it posts.
    #: Set and reopened by an administrator, audited (Settings -> Closed periods).
    closed_through = models.DateField(null=True, blank=True)
    #: The firm's IANA time zone: what "today" is for its people, its API clients and its
    #: nightly jobs (core/timezones.py). Unset: the server's CASEBRIDGE_TIME_ZONE.
    time_zone = models.CharField(max_length=64, null=True, blank=True)
    #: The month (1-12) the firm's fiscal year starts on, on its first day (ADR 0053): the
    #: balance sheet's current-year earnings run from it, and a profit and loss or ledger
    #: detail without a start begins there. Settings -> Fiscal year (administrators).
    fiscal_year_start_month = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="books_firm_fiscal_year_start_month_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    """What a books user may do (ADR: roles for tokens and API rate limits). Corrections
    (voids, reversals, unmatching and recording bank lines) need an accountant or an
    administrator; an administrator also manages users and the firm's settings. A token
    acts with its user's role as it is at each request."""

    ADMINISTRATOR = "administrator", "Administrator"
    ACCOUNTANT = "accountant", "Accountant"
    STAFF = "staff", "Staff"


#: Each role's rank: a role may do what any lower one may.
ROLE_RANK = {Role.STAFF: 0, Role.ACCOUNTANT: 1, Role.ADMINISTRATOR: 2}


class User(models.Model):
    """A person (or the designated integration user) who logs into the books.

    ``is_admin`` is kept beside ``role`` (many checks read it): it is true exactly when
    the role is administrator (CHECK ``books_user_admin_is_administrator``)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="users")
    email = models.EmailField(max_length=254)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    initials = models.CharField(max_length=8, blank=True)
    is_admin = models.BooleanField(default=False)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.ACCOUNTANT)
    records_time = models.BooleanField(default=False)
    #: May sign a monthly bank reconciliation (issue 11).
    is_attorney = models.BooleanField(default=False)
    is_integration_user = models.BooleanField(
        default=False,
        help_text="The user case management signs in as. Only one per firm.",
    )
    gl_account_extension = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)
    password = models.CharField(max_length=256)
    security_question = models.CharField(max_length=200, blank=True)
    security_answer_hash = models.CharField(max_length=256, blank=True)
    security_enrolled_at = models.DateTimeField(null=True, blank=True)
    #: The second factor (issue 13): the TOTP secret, Fernet-encrypted
    #: (:mod:`casebridge.core.twofactor`); the counter of the last code used, so a code
    #: works once. Never for the integration user (security question + token).
    totp_secret = models.TextField(blank=True)
    totp_enabled_at = models.DateTimeField(null=True, blank=True)
    totp_last_counter = models.BigIntegerField(null=True, blank=True)
    #: Set when an administrator resets the password: the user chooses a new one at the
    #: next sign-in before anything else.
    must_change_password = models.BooleanField(default=False)
    last_login_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "firm", Lower("email"), name="books_user_email_unique_per_firm"
            ),
            models.UniqueConstraint(
                fields=["firm"],
                condition=Q(is_integration_user=True),
                name="books_user_one_integration_user_per_firm",
            ),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="books_user_role_known"),
            models.CheckConstraint(
                condition=Q(is_admin=True, role=Role.ADMINISTRATOR)
                | (Q(is_admin=False) & ~Q(role=Role.ADMINISTRATOR)),
                name="books_user_admin_is_administrator",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email

    @property
    def is_enrolled(self) -> bool:
        """Authenticated for integrations: has enrolled a security question."""
        return self.security_enrolled_at is not None

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)


class RecoveryCode(models.Model):
    """A single-use code that stands in for the TOTP code (ten at enrolment, shown once);
    only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "code_hash"], name="books_recovery_code_unique_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class IntegrationToken(models.Model):
    """A bearer token for API clients; only its SHA-256 is stored. Lapses after 30 days."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    #: Requests a minute this token may make; null: the default for its user
    #: (``CASEBRIDGE_API_RATE_LIMIT``, or ``..._INTEGRATION`` for the integration user).
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.user_id}, expires {self.expires_at:%Y-%m-%d})"


class LoginAttempt(models.Model):
    """Every login (web or API), for throttling and the audit trail."""

    firm_code = models.CharField(max_length=40)
    username = models.CharField(max_length=254)  # lower-cased
    ip_address = models.CharField(max_length=64, blank=True)
    succeeded = models.BooleanField()
    at = models.DateTimeField()

    class Meta:
        indexes = [
            models.Index(fields=["firm_code", "username", "at"], name="login_attempt_lookup")
        ]

    def __str__(self) -> str:
        return f"{self.firm_code}/{self.username} {'ok' if self.succeeded else 'failed'}"


class AreaOfPractice(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="areas_of_practice")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("firm", Lower("name"), name="books_area_name_unique_per_firm"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class AccountType(models.TextChoices):
    ASSET = "asset", "Asset"
    LIABILITY = "liability", "Liability"
    EQUITY = "equity", "Equity"
    INCOME = "income", "Income"
    EXPENSE = "expense", "Expense"


#: Accounts whose normal balance is a debit.
DEBIT_NORMAL = {AccountType.ASSET, AccountType.EXPENSE}


class AccountRole(models.TextChoices):
    """The accounts the services post to by role, one of each per firm."""

    OPERATING_BANK = "operating_bank", "Operating bank"
    TRUST_BANK = "trust_bank", "Client trust bank"
    CLIENT_TRUST_LIABILITY = "client_trust_liability", "Client trust liability"
    ADVANCED_COSTS = "advanced_costs", "Advanced client costs"
    FEE_INCOME = "fee_income", "Fee income"
    ACCOUNTS_RECEIVABLE = "accounts_receivable", "Accounts receivable"
    WRITE_OFF = "write_off", "Cost write-off"


class GLAccount(models.Model):
    """A general-ledger account. ``balance_cents`` is debits minus credits, kept in the same
    transaction as every posting so a balance read is one indexed row, whatever the size of
    the ledger."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="gl_accounts")
    number = models.CharField(max_length=20)
    name = models.CharField(max_length=120)
    type = models.CharField(max_length=10, choices=AccountType.choices)
    role = models.CharField(max_length=32, choices=AccountRole.choices, blank=True)
    is_client_trust = models.BooleanField(
        default=False, help_text="Client trust liability: every posting names a file."
    )
    is_active = models.BooleanField(default=True)
    balance_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "number"], name="books_gl_number_unique_per_firm"
            ),
            models.UniqueConstraint(
                fields=["firm", "role"], condition=~Q(role=""), name="books_gl_role_unique_per_firm"
            ),
            models.CheckConstraint(
                condition=Q(is_client_trust=False) | Q(type=AccountType.LIABILITY),
                name="books_gl_client_trust_is_liability",
            ),
        ]
        ordering = ["number"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"

    @property
    def normal_balance_cents(self) -> int:
        """Balance in the account's natural sign (a liability's credit balance is positive)."""
        return self.balance_cents if self.type in DEBIT_NORMAL else -self.balance_cents


class BankAccountKind(models.TextChoices):
    OPERATING = "operating", "Operating"
    TRUST = "trust", "Client trust"


class BankAccount(models.Model):
    """A real bank account, tied to its GL asset account. A trust account also names the
    client trust liability account that holds its clients' sub-ledgers."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="bank_accounts")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=BankAccountKind.choices)
    gl_account = models.OneToOneField(
        GLAccount, on_delete=models.PROTECT, related_name="bank_account"
    )
    trust_liability_account = models.OneToOneField(
        GLAccount,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="trust_bank_account",
    )
    bank_name = models.CharField(max_length=120, blank=True)
    account_number_last4 = models.CharField(max_length=4, blank=True)
    #: For the MICR line of printed checks (issue 11): the ABA routing number (9 digits,
    #: its checksum valid) and the full account number (digits only). Without both a
    #: check prints with no MICR line.
    routing_number = models.CharField(max_length=9, blank=True, default="")
    account_number = models.CharField(max_length=17, blank=True, default="")
    next_check_number = models.PositiveIntegerField(default=1001)
    is_active = models.BooleanField(default=True)
    #: The last day of the last month closed by a signed reconciliation: no entry dated on
    #: or before it may post to this account or (trust) its client ledgers (issue 11).
    closed_through = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "name"], name="books_bank_name_unique_per_firm"
            ),
            models.CheckConstraint(
                condition=Q(kind="operating", trust_liability_account__isnull=True)
                | Q(kind="trust", trust_liability_account__isnull=False),
                name="books_bank_trust_has_liability",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ActivityCode(models.Model):
    """Rates/Codes -> Activity Code: what a cost or fee line is, and where it posts."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="activity_codes")
    code = models.CharField(max_length=40)
    name = models.CharField(max_length=120)
    description = models.CharField(max_length=255, blank=True)
    gl_account = models.ForeignKey(GLAccount, on_delete=models.PROTECT, related_name="+")
    utbms_code = models.CharField(max_length=4, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                "firm", Lower("code"), name="books_activity_code_unique_per_firm"
            ),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class Contact(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    address = models.TextField(blank=True)
    external_ref = models.CharField(max_length=120, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="books_contact_external_ref_unique",
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class File(models.Model):
    """A matter. Its client trust sub-ledgers are :class:`TrustLedger` rows."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="files")
    number = models.CharField(max_length=40)
    name = models.CharField(max_length=200)
    client = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="files")
    area_of_practice = models.ForeignKey(
        AreaOfPractice, on_delete=models.PROTECT, null=True, blank=True
    )
    responsible_attorney = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    external_ref = models.CharField(max_length=120, null=True, blank=True)
    opened_on = models.DateField()
    is_closed = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "number"], name="books_file_number_unique_per_firm"
            ),
            models.UniqueConstraint(
                fields=["firm", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="books_file_external_ref_unique",
            ),
        ]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class TrustLedger(models.Model):
    """A client's trust sub-ledger: one file's money in one trust bank account.

    ``balance_cents`` (credit-normal) moves in the same transaction as the postings, under a
    row lock, and a CHECK keeps it from going below zero even if a service were wrong.
    ``latest_posting_date`` (the latest date of an entry posted to it) moves with it: a
    disbursement dated on or after it cannot lower any later day's balance, so the posting
    path reads the ledger's dated postings only for one dated before it (ADR 0011).
    """

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="trust_ledgers")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="trust_ledgers"
    )
    balance_cents = models.BigIntegerField(default=0)
    # Nullable (None: nothing posted yet), so adding it was a plain ALTER TABLE.
    latest_posting_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["file", "bank_account"], name="books_trust_ledger_unique"
            ),
            models.CheckConstraint(
                condition=Q(balance_cents__gte=0), name="books_trust_never_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"trust ledger file {self.file_id} bank {self.bank_account_id}"


class JournalEntry(models.Model):
    """A balanced set of postings. Immutable once written; corrected by a reversal."""

    firm = models.ForeignKey(
        Firm, on_delete=models.PROTECT, related_name="journal_entries", db_index=False
    )  # served by the (firm, date) index
    date = models.DateField()
    memo = models.CharField(max_length=500, blank=True)
    posting_reference = models.CharField(max_length=60, blank=True)
    source = models.CharField(max_length=60, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    # SHA-256 of the content posted under the key, so a reused key with other content is
    # refused. Nullable, so adding it was a plain ALTER TABLE: on SQLite a table rebuild
    # would drop this table's immutability triggers (see migration 0002).
    content_hash = models.CharField(max_length=64, null=True, blank=True)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, db_index=False
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "source", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="books_entry_idempotency_unique",
            ),
        ]
        indexes = [models.Index(fields=["firm", "date"], name="books_entry_firm_date")]

    def __str__(self) -> str:
        return f"JE{self.pk} {self.date} {self.memo}"


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    # A posting belongs to its firm through its entry and its account (no column of its
    # own: postings are the hottest insert). Indexes are chosen for the write rate:
    # (account, entry) and (trust_ledger, entry) serve every read.
    account = models.ForeignKey(
        GLAccount, on_delete=models.PROTECT, related_name="postings", db_index=False
    )
    file = models.ForeignKey(
        File, on_delete=models.PROTECT, null=True, blank=True, related_name="postings"
    )
    trust_ledger = models.ForeignKey(
        TrustLedger,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="postings",
        db_index=False,
    )
    debit_cents = models.BigIntegerField(default=0)
    credit_cents = models.BigIntegerField(default=0)
    memo = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit_cents__gt=0) & Q(credit_cents=0))
                | (Q(credit_cents__gt=0) & Q(debit_cents=0)),
                name="books_posting_one_positive_side",
            ),
        ]
        indexes = [
            models.Index(fields=["account", "entry"], name="books_posting_account"),
            models.Index(fields=["trust_ledger", "entry"], name="books_posting_trust_ledger"),
        ]

    def __str__(self) -> str:
        return (
            f"JE{self.entry_id} acct {self.account_id} Dr {self.debit_cents} Cr {self.credit_cents}"
        )


class CheckStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    PRINTED = "printed", "Printed"
    VOIDED = "voided", "Voided"


class Check(models.Model):
    """A check request from operating (cost advance) or trust. It posts when requested
    (so a queued trust check already holds the client's money), gets its number when
    printed, and a void posts a reversal dated on the void date."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="checks")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="checks")
    file = models.ForeignKey(
        File, on_delete=models.PROTECT, null=True, blank=True, related_name="checks"
    )
    payee = models.CharField(max_length=200)
    amount_cents = models.BigIntegerField()
    activity_code = models.ForeignKey(ActivityCode, on_delete=models.PROTECT, null=True, blank=True)
    memo = models.CharField(max_length=255, blank=True)
    posting_reference = models.CharField(max_length=60, blank=True)
    external_ref = models.CharField(max_length=120, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=CheckStatus.choices, default=CheckStatus.QUEUED
    )
    check_number = models.PositiveIntegerField(null=True, blank=True)
    request_date = models.DateField()
    printed_on = models.DateField(null=True, blank=True)
    voided_on = models.DateField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, related_name="check_issued"
    )
    void_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="check_voided"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "check_number"],
                condition=Q(check_number__isnull=False),
                name="books_check_number_unique_per_bank",
            ),
            models.UniqueConstraint(
                fields=["firm", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="books_check_external_ref_unique",
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="books_check_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status="printed") | Q(check_number__isnull=False),
                name="books_check_printed_has_number",
            ),
        ]
        indexes = [models.Index(fields=["firm", "status", "id"], name="books_check_queue")]

    def __str__(self) -> str:
        return f"Check {self.check_number or '(queued)'} to {self.payee}"


class ReceiptStatus(models.TextChoices):
    POSTED = "posted", "Posted"
    VOIDED = "voided", "Voided"


class TrustReceipt(models.Model):
    """A deposit into a client trust account for a file (e.g. a settlement check)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="trust_receipts")
    bank_account = models.ForeignKey(BankAccount, on_delete=models.PROTECT, related_name="receipts")
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="trust_receipts")
    payer = models.CharField(max_length=200)
    amount_cents = models.BigIntegerField()
    received_on = models.DateField()
    reference = models.CharField(
        max_length=60, blank=True, help_text="Check number of the deposited item."
    )
    memo = models.CharField(max_length=255, blank=True)
    external_ref = models.CharField(max_length=120, null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=ReceiptStatus.choices, default=ReceiptStatus.POSTED
    )
    voided_on = models.DateField(null=True, blank=True)
    entry = models.OneToOneField(JournalEntry, on_delete=models.PROTECT, related_name="receipt")
    void_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="receipt_voided"
    )
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="books_receipt_amount_positive"
            ),
            models.UniqueConstraint(
                fields=["firm", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="books_receipt_external_ref_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"Trust receipt {self.pk} from {self.payer}"


class InvoiceStage(models.TextChoices):
    DRAFT = "draft", "Draft"
    REVIEW = "review", "Review"
    RELEASE = "release", "Release"
    FINAL = "final", "Final"
    VOIDED = "voided", "Voided"


class Invoice(models.Model):
    """A bill for a file. Finalising posts it; with ``pay_from_trust`` the same entry moves
    the fee and reimbursed costs from the client's trust to operating."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="invoices")
    number = models.PositiveIntegerField()
    file = models.ForeignKey(File, on_delete=models.PROTECT, related_name="invoices")
    stage = models.CharField(
        max_length=10, choices=InvoiceStage.choices, default=InvoiceStage.DRAFT
    )
    invoice_date = models.DateField()
    description = models.CharField(max_length=255, blank=True)
    pay_from_trust = models.BooleanField(default=False)
    trust_bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    operating_bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    total_cents = models.BigIntegerField(default=0)
    external_ref = models.CharField(max_length=120, null=True, blank=True)
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice"
    )
    void_entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="invoice_voided"
    )
    finalised_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "number"], name="books_invoice_number_unique_per_firm"
            ),
            models.UniqueConstraint(
                fields=["firm", "external_ref"],
                condition=Q(external_ref__isnull=False),
                name="books_invoice_external_ref_unique",
            ),
            models.CheckConstraint(
                condition=~Q(stage="final") | Q(entry__isnull=False),
                name="books_invoice_final_is_posted",
            ),
        ]

    def __str__(self) -> str:
        return f"Invoice {self.number}"


class FileDigest(models.Model):
    """The digest (:mod:`casebridge.core.digest`) of a file's checks, trust receipts and
    invoices under one reference namespace (what an ``external_ref`` holds up to its first
    ``-``, e.g. ``cases-``): kept by triggers on the three tables (ADR 0030), read by
    ``/reports/external-digests``. ``file_key`` is the file's id, 0 for the documents
    without a file; a group emptied stays as zeros. No foreign key: the triggers write it
    whatever is deleted around it."""

    firm = models.ForeignKey(
        Firm, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    namespace = models.CharField(max_length=120)
    file_key = models.BigIntegerField()
    documents = models.BigIntegerField(default=0)
    cents = models.BigIntegerField(default=0)
    #: the sum of the rows' 60-bit hashes modulo 2**60
    hash = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "namespace", "file_key"], name="books_filedigest_key"
            )
        ]

    def __str__(self) -> str:
        return f"digest of {self.documents} documents"


class FileDigestDelta(models.Model):
    """What one statement moved a file digest by (ADR 0035): on PostgreSQL the triggers
    only ever INSERT these (one row per group a statement moved), so writers never wait
    on each other for a shared digest row; a read sums the kept :class:`FileDigest` and
    its deltas, and the compaction (``file_digests_compact``) folds them into it. SQLite's
    row triggers keep updating :class:`FileDigest` directly (it serialises writers): there
    this table holds only a rebuild's correction, for the moment before it is folded."""

    firm = models.ForeignKey(
        Firm, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    namespace = models.CharField(max_length=120)
    file_key = models.BigIntegerField()
    documents = models.BigIntegerField()
    cents = models.BigIntegerField()
    #: the moved rows' hashes summed modulo 2**60
    hash = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["firm", "namespace", "file_key"], name="books_filedigestdelta_key")
        ]

    def __str__(self) -> str:
        return f"digest moved by {self.documents} documents"


class LineKind(models.TextChoices):
    FEE = "fee", "Fee (time entry)"
    COST = "cost", "Cost"


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=4, choices=LineKind.choices)
    description = models.CharField(max_length=255)
    amount_cents = models.BigIntegerField()
    timekeeper = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    hours = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    activity_code = models.ForeignKey(ActivityCode, on_delete=models.PROTECT, null=True, blank=True)
    line_date = models.DateField()
    external_ref = models.CharField(max_length=120, blank=True)
    #: the line's own UTBMS codes for LEDES (ADR 0054); empty: the default (a fee: the
    #: firm's LEDES fee codes; a cost: its activity code's UTBMS expense code)
    utbms_task_code = models.CharField(max_length=4, blank=True, default="")
    utbms_activity_code = models.CharField(max_length=4, blank=True, default="")
    utbms_expense_code = models.CharField(max_length=4, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="books_line_amount_positive"
            ),
            models.CheckConstraint(
                condition=(Q(kind="fee") & Q(timekeeper__isnull=False))
                | (Q(kind="cost") & Q(activity_code__isnull=False)),
                name="books_line_kind_fields",
            ),
            models.CheckConstraint(
                condition=Q(utbms_task_code__in=["", *utbms.TASK]),
                name="books_line_utbms_task_known",
            ),
            models.CheckConstraint(
                condition=Q(utbms_activity_code__in=["", *utbms.ACTIVITY]),
                name="books_line_utbms_activity_known",
            ),
            models.CheckConstraint(
                condition=Q(utbms_expense_code__in=["", *utbms.EXPENSE]),
                name="books_line_utbms_expense_known",
            ),
            # a fee is coded by task and activity, a cost by its expense code
            models.CheckConstraint(
                condition=(Q(kind="fee") & Q(utbms_expense_code=""))
                | (Q(kind="cost") & Q(utbms_task_code="") & Q(utbms_activity_code="")),
                name="books_line_utbms_by_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.description}"


class IdempotencyRecord(IdempotencyRecordBase):
    """See :class:`~casebridge.core.models.IdempotencyRecordBase`."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "scope", "key"], name="books_idempotency_unique"
            ),
        ]


# Bank statements in (issue 11, ADR 0014) -------------------------------------------------


class StatementFormat(models.TextChoices):
    OFX = "ofx", "OFX / QFX"
    CSV = "csv", "CSV"
    BAI2 = "bai2", "BAI2"
    CAMT053 = "camt053", "ISO 20022 camt.053"


class BankStatement(models.Model):
    """A bank statement file imported for one bank account: its period and balances as
    the bank states them (``None`` where the format has none: OFX has no opening balance,
    CSV none at all). The same file is one statement however often it is uploaded."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statements"
    )
    source_format = models.CharField(max_length=10, choices=StatementFormat.choices)
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    stated_account = models.CharField(max_length=64, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    opening_balance_cents = models.BigIntegerField(null=True, blank=True)
    closing_balance_cents = models.BigIntegerField(null=True, blank=True)
    line_count = models.PositiveIntegerField(default=0, help_text="Lines in the file.")
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    imported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "file_sha256"], name="books_statement_file_once"
            ),
        ]
        indexes = [
            models.Index(fields=["bank_account", "period_end"], name="books_statement_period")
        ]

    def __str__(self) -> str:
        return f"Statement {self.pk} of bank {self.bank_account_id} to {self.period_end}"


class StatementLineStatus(models.TextChoices):
    """Where a bank line stands: not yet matched; matching found more than one candidate
    (``proposals`` lists them, nothing applied); matched to the books items it cleared;
    or set aside as a reconciling item with a note."""

    UNMATCHED = "unmatched", "Unmatched"
    PROPOSED = "proposed", "Match proposed"
    MATCHED = "matched", "Matched"
    RECONCILING = "reconciling", "Reconciling item"


class StatementLine(models.Model):
    """One bank transaction, once per bank account: ``dedupe_key`` (the bank's
    transaction id, else a hash of date, amount, reference and the line's rank among its
    twins in the file) is unique per bank account, so the same line in two files, or two
    uploads racing, is stored once. ``statement`` is the statement that brought it in.
    ``amount_cents`` is signed: money in is positive."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statement_lines", db_index=False
    )  # served by the (bank_account, dedupe_key) and (bank_account, posted_on) indexes
    statement = models.ForeignKey(BankStatement, on_delete=models.PROTECT, related_name="lines")
    posted_on = models.DateField()
    amount_cents = models.BigIntegerField()
    bank_txn_id = models.CharField(max_length=100, null=True, blank=True)
    dedupe_key = models.CharField(max_length=100)
    type = models.CharField(max_length=20, blank=True)
    check_number = models.CharField(max_length=20, null=True, blank=True)
    reference = models.CharField(max_length=140, blank=True)
    description = models.CharField(max_length=500, blank=True)
    position = models.PositiveIntegerField(help_text="Its place in the statement file.")
    status = models.CharField(
        max_length=12,
        choices=StatementLineStatus.choices,
        default=StatementLineStatus.UNMATCHED,
    )
    #: Candidate matches found by auto-match, each a list of posting ids (proposed only).
    proposals = models.JSONField(null=True, blank=True)
    #: Why a reconciling item was set aside (or the last unmatch's reason).
    note = models.CharField(max_length=500, null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "dedupe_key"], name="books_statement_line_once"
            ),
        ]
        indexes = [
            models.Index(fields=["bank_account", "posted_on"], name="books_stmt_line_date"),
        ]

    def __str__(self) -> str:
        return f"{self.posted_on} {self.amount_cents} {self.description[:40]}"


class StatementImportStatus(models.TextChoices):
    IMPORTED = "imported", "Imported"
    REFUSED = "refused", "Refused"


class StatementImport(models.Model):
    """One upload and its result: how many lines were new and how many already known, or
    why the file was refused (then nothing else was written)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="statement_imports"
    )
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="imports"
    )
    source_format = models.CharField(max_length=10, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64)
    file_size = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=StatementImportStatus.choices)
    new_count = models.PositiveIntegerField(default=0)
    known_count = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=500, blank=True)
    where = models.CharField(max_length=120, blank=True)
    imported_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="refused", statement__isnull=True)
                | Q(status="imported", statement__isnull=False),
                name="books_statement_import_result",
            ),
        ]

    def __str__(self) -> str:
        return f"Import {self.pk} {self.status} ({self.new_count} new)"


class CsvColumnMapping(models.Model):
    """Which CSV column holds what, for one bank account: chosen once and remembered.
    Columns are numbered from 1; either ``amount_column`` (signed) or a debit/credit
    pair."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.OneToOneField(
        BankAccount, on_delete=models.PROTECT, related_name="csv_mapping"
    )
    date_column = models.PositiveSmallIntegerField(default=1)
    amount_column = models.PositiveSmallIntegerField(null=True, blank=True)
    debit_column = models.PositiveSmallIntegerField(null=True, blank=True)
    credit_column = models.PositiveSmallIntegerField(null=True, blank=True)
    description_column = models.PositiveSmallIntegerField(null=True, blank=True)
    reference_column = models.PositiveSmallIntegerField(null=True, blank=True)
    check_number_column = models.PositiveSmallIntegerField(null=True, blank=True)
    txn_id_column = models.PositiveSmallIntegerField(null=True, blank=True)
    date_format = models.CharField(max_length=20, default="%m/%d/%Y")
    decimal_separator = models.CharField(max_length=1, default=".")
    delimiter = models.CharField(max_length=1, default=",")
    skip_rows = models.PositiveSmallIntegerField(default=1, help_text="Header rows to skip.")
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"CSV mapping of bank {self.bank_account_id}"


# Matching, the monthly reconciliation and closed periods (issue 11, ADR 0015) -----------


class ClearedHow(models.TextChoices):
    AUTO = "auto", "Auto-matched"
    MANUAL = "manual", "Matched by hand"
    RECORDED = "recorded", "Recorded from the statement"
    OPENING = "opening", "Cleared before the first statement"


class ClearedItem(models.Model):
    """A books item the bank has cleared. A books item is a posting to a bank account's GL
    account (a check, a receipt, a transfer, an entry); it clears once (``posting`` is
    unique), by a statement line (several items may clear one line: a deposit slip) or,
    with no line, as cleared before the first statement imported. ``amount_cents`` is the
    posting's debit minus credit (money in is positive, as on the statement)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="cleared_items", db_index=False
    )  # served by the (bank_account, cleared_on) index
    posting = models.OneToOneField(Posting, on_delete=models.PROTECT, related_name="cleared")
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="cleared")
    line = models.ForeignKey(
        StatementLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="cleared_items",
    )
    amount_cents = models.BigIntegerField()
    cleared_on = models.DateField()
    how = models.CharField(max_length=10, choices=ClearedHow.choices)
    matched_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    matched_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(amount_cents=0), name="books_cleared_item_not_zero"
            ),
            models.CheckConstraint(
                condition=Q(line__isnull=False) | Q(how="opening"),
                name="books_cleared_item_has_line",
            ),
        ]
        indexes = [
            models.Index(fields=["bank_account", "cleared_on"], name="books_cleared_item_date"),
        ]

    def __str__(self) -> str:
        return f"posting {self.posting_id} cleared {self.cleared_on}"


class ReconciliationStatus(models.TextChoices):
    PREPARED = "prepared", "Prepared"
    SIGNED = "signed", "Signed"
    SUPERSEDED = "superseded", "Superseded"


class Reconciliation(models.Model):
    """A monthly bank reconciliation, saved: every figure and item as of the month's last
    day (``items``: outstanding checks, deposits in transit, reconciling items, client
    ledger balances), who prepared it and the attorney who signed it. Signing closes the
    month for the bank account; reopening it (an administrator, with a reason) marks the
    signed reconciliation superseded. One live (prepared or signed) per account and month."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="reconciliations"
    )
    period_start = models.DateField()
    period_end = models.DateField()
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: None: prepared with no statement balance (then it cannot be signed)
    statement_balance_cents = models.BigIntegerField(null=True, blank=True)
    deposits_in_transit_cents = models.BigIntegerField()
    outstanding_checks_cents = models.BigIntegerField()
    reconciling_items_cents = models.BigIntegerField()
    adjusted_bank_balance_cents = models.BigIntegerField()
    journal_balance_cents = models.BigIntegerField()
    client_ledgers_total_cents = models.BigIntegerField(null=True, blank=True)
    difference_cents = models.BigIntegerField()
    items = models.JSONField()
    status = models.CharField(max_length=10, choices=ReconciliationStatus.choices)
    prepared_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField()
    signed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    signed_at = models.DateTimeField(null=True, blank=True)
    superseded_at = models.DateTimeField(null=True, blank=True)
    superseded_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "period_end"],
                condition=Q(status__in=["prepared", "signed"]),
                name="books_reconciliation_one_live_per_month",
            ),
            models.CheckConstraint(
                condition=~Q(status="signed")
                | Q(
                    signed_by__isnull=False,
                    difference_cents=0,
                    statement_balance_cents__isnull=False,
                ),
                name="books_reconciliation_signed_is_reconciled",
            ),
        ]
        indexes = [
            models.Index(fields=["bank_account", "period_end"], name="books_reconciliation_month")
        ]

    def __str__(self) -> str:
        return f"Reconciliation of bank {self.bank_account_id} to {self.period_end}"


# Checks out (issue 11) -----------------------------------------------------------------


class SpoiledCheckNumber(models.Model):
    """A check number printed on paper that was spoiled (jammed, misprinted, torn) and
    printed again under the bank account's next number. The paper is void, the payment is
    not: the same :class:`Check` and journal entry carry the new number, so the money is
    neither posted nor returned twice. The number is never used again on that bank
    account (the services skip it; unique here among spoiled numbers)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="spoiled_check_numbers"
    )
    number = models.PositiveIntegerField()
    reprinted_check = models.ForeignKey(
        Check, on_delete=models.PROTECT, related_name="spoiled_numbers"
    )
    reason = models.CharField(max_length=255)
    printed_on = models.DateField(help_text="The day this number was printed.")
    spoiled_on = models.DateField(help_text="The day it was spoiled and printed again.")
    spoiled_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    spoiled_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "number"], name="books_spoiled_number_once_per_bank"
            ),
        ]

    def __str__(self) -> str:
        return f"Spoiled check number {self.number} of bank {self.bank_account_id}"


class PositivePayColumn(models.TextChoices):
    ACCOUNT = "account", "Account number"
    CHECK_NUMBER = "check_number", "Check number"
    AMOUNT = "amount", "Amount"
    ISSUE_DATE = "issue_date", "Issue date"
    PAYEE = "payee", "Payee"
    FLAG = "flag", "Issue/void flag"


class PositivePayDateFormat(models.TextChoices):
    MM_DD_YYYY = "MM/DD/YYYY", "MM/DD/YYYY"
    YYYYMMDD = "YYYYMMDD", "YYYYMMDD"
    YYYY_MM_DD = "YYYY-MM-DD", "YYYY-MM-DD"
    MMDDYY = "MMDDYY", "MMDDYY"


class PositivePayAmount(models.TextChoices):
    DOLLARS = "dollars", "Decimal dollars (1234.56)"
    CENTS = "cents", "Cents (123456)"


class PositivePayLayout(models.Model):
    """How one bank account's positive pay file is laid out (its bank's specification):
    the columns in order (``columns``: :class:`PositivePayColumn` values, comma-separated),
    the date and amount formats, the issue and void flags and whether a header row comes
    first. Without one the first generic preset of ``selectors.positive_pay`` is used."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.OneToOneField(
        BankAccount, on_delete=models.PROTECT, related_name="positive_pay_layout"
    )
    columns = models.CharField(max_length=100)
    date_format = models.CharField(max_length=10, choices=PositivePayDateFormat.choices)
    amount_format = models.CharField(max_length=10, choices=PositivePayAmount.choices)
    issue_flag = models.CharField(max_length=10, default="I")
    void_flag = models.CharField(max_length=10, default="V")
    header = models.BooleanField(default=True)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Positive pay layout of bank {self.bank_account_id}"


# --- ACH payments (issue 15, ADR 0046) ---


class AchAccountType(models.TextChoices):
    CHECKING = "checking", "Checking"
    SAVINGS = "savings", "Savings"


class AchHolderKind(models.TextChoices):
    """Who holds the payee's account, which decides the entry's SEC code."""

    PERSON = "person", "A person (PPD)"
    BUSINESS = "business", "A business (CCD)"


class PrenoteStatus(models.TextChoices):
    NONE = "none", "No prenote"
    PENDING = "pending", "Prenote to send"
    SENT = "sent", "Prenote sent"


class PayeeBankAccount(models.Model):
    """A payee's bank account for ACH credits: the ABA routing number (checksum valid) and
    the account number encrypted with the books' data key (``account_number_ciphertext``,
    :mod:`casebridge.books.crypto`; shown masked). A contact has at most one active one;
    a change deactivates it and adds a new row, so a payment keeps the account it went to."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    contact = models.ForeignKey(
        Contact, on_delete=models.PROTECT, related_name="payee_bank_accounts"
    )
    routing_number = models.CharField(max_length=9)
    account_number_ciphertext = models.TextField()
    account_type = models.CharField(max_length=10, choices=AchAccountType.choices)
    holder_kind = models.CharField(max_length=10, choices=AchHolderKind.choices)
    prenote_status = models.CharField(
        max_length=10, choices=PrenoteStatus.choices, default=PrenoteStatus.NONE
    )
    prenote_sent_on = models.DateField(null=True, blank=True)
    #: The NACHA file that carried the prenote (ADR 0055): its effective entry date is the
    #: prenote's settlement date, from which the wait before a live entry counts. Null on
    #: prenotes sent before it was kept and not traced to their file by migration 0027.
    prenote_batch = models.ForeignKey(
        "AchBatch", on_delete=models.PROTECT, null=True, blank=True, related_name="prenotes"
    )
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["contact"],
                condition=Q(is_active=True),
                name="books_payee_bank_one_active_per_contact",
            ),
            models.CheckConstraint(
                condition=Exact(Length("routing_number"), 9),
                name="books_payee_bank_routing_nine_digits",
            ),
            models.CheckConstraint(
                condition=~Q(account_number_ciphertext=""),
                name="books_payee_bank_account_number_present",
            ),
            models.CheckConstraint(
                condition=Q(account_type__in=["checking", "savings"]),
                name="books_payee_bank_account_type_valid",
            ),
            models.CheckConstraint(
                condition=Q(holder_kind__in=["person", "business"]),
                name="books_payee_bank_holder_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(prenote_status="sent", prenote_sent_on__isnull=False)
                | (Q(prenote_status__in=["none", "pending"]) & Q(prenote_sent_on__isnull=True)),
                name="books_payee_bank_prenote_dated_when_sent",
            ),
            models.CheckConstraint(
                condition=Q(prenote_batch__isnull=True) | Q(prenote_status="sent"),
                name="books_payee_bank_prenote_file_when_sent",
            ),
        ]

    def __str__(self) -> str:
        return f"Bank account of contact {self.contact_id} ({self.routing_number})"

    @property
    def sec_code(self) -> str:
        return "CCD" if self.holder_kind == AchHolderKind.BUSINESS else "PPD"


class AchSettings(models.Model):
    """A bank account's ACH origination settings, as its bank assigns them: the file
    header's immediate destination (the bank's routing number) and origin, their names,
    the company name and ID of every batch, and whether the bank wants a balanced file
    (an offsetting debit to the firm's own account in each batch)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.OneToOneField(
        BankAccount, on_delete=models.PROTECT, related_name="ach_settings"
    )
    immediate_destination = models.CharField(max_length=9)
    immediate_destination_name = models.CharField(max_length=23)
    immediate_origin = models.CharField(max_length=10)
    immediate_origin_name = models.CharField(max_length=23)
    company_name = models.CharField(max_length=16)
    company_id = models.CharField(max_length=10)
    balanced = models.BooleanField(default=False)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("immediate_destination"), 9),
                name="books_ach_settings_destination_nine_digits",
            ),
            models.CheckConstraint(
                condition=~Q(company_id="") & ~Q(company_name="") & ~Q(immediate_origin=""),
                name="books_ach_settings_company_present",
            ),
        ]

    def __str__(self) -> str:
        return f"ACH settings of bank {self.bank_account_id}"


class AchBatch(models.Model):
    """One NACHA file made of a bank account's queued ACH payments. Made once: its text is
    kept encrypted with the data key (``file_ciphertext``, ADR 0050: it holds the payees'
    account numbers), so a download later gives the same bytes, and each payment is in
    one batch only (``AchPayment.batch``)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    bank_account = models.ForeignKey(
        BankAccount, on_delete=models.PROTECT, related_name="ach_batches"
    )
    effective_date = models.DateField()
    file_id_modifier = models.CharField(max_length=1)
    created_on = models.DateField()
    #: the NACHA file's text, encrypted with the books' data key (crypto.ENCRYPTED_COLUMNS)
    file_ciphertext = models.TextField()
    entry_count = models.PositiveIntegerField()
    prenote_count = models.PositiveIntegerField(default=0)
    total_credit_cents = models.BigIntegerField()
    total_debit_cents = models.BigIntegerField()
    entry_hash = models.BigIntegerField()
    sent_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    created_at = models.DateTimeField()
    #: the file header's immediate destination and origin and the ODFI of its trace
    #: numbers, and the last trace sequence it used (ADR 0050; null on files made before)
    immediate_destination = models.CharField(max_length=10, null=True, blank=True)
    immediate_origin = models.CharField(max_length=10, null=True, blank=True)
    odfi = models.CharField(max_length=8, null=True, blank=True)
    trace_last = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account", "created_on", "file_id_modifier"],
                name="books_ach_batch_file_id_once_a_day",
            ),
            models.CheckConstraint(
                condition=Q(total_credit_cents__gte=0) & Q(total_debit_cents__gte=0),
                name="books_ach_batch_totals_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"ACH batch {self.pk} of bank {self.bank_account_id}"


class AchStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    BATCHED = "batched", "In a file"
    SENT = "sent", "Sent"
    RETURNED = "returned", "Returned"
    CANCELLED = "cancelled", "Cancelled"


class AchPayment(models.Model):
    """Marks a :class:`Check` (the money: posted when requested, reversed when voided) as
    paid by ACH to ``payee_account`` instead of printed: it never gets a check number.
    Queued, then in one NACHA batch (its trace number), sent, or returned by the bank (the
    check voided with a reversal); a queued one can be cancelled (voided)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    #: the check document that carries the money (``check`` would shadow Model.check())
    disbursement = models.OneToOneField(Check, on_delete=models.PROTECT, related_name="ach_payment")
    payee_account = models.ForeignKey(
        PayeeBankAccount, on_delete=models.PROTECT, related_name="payments"
    )
    status = models.CharField(max_length=10, choices=AchStatus.choices, default=AchStatus.QUEUED)
    batch = models.ForeignKey(
        AchBatch, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    trace_number = models.CharField(max_length=15, blank=True, default="")
    sent_on = models.DateField(null=True, blank=True)
    returned_on = models.DateField(null=True, blank=True)
    return_reason = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(status__in=["queued", "cancelled"]) & Q(batch__isnull=True))
                | (Q(status__in=["batched", "sent", "returned"]) & Q(batch__isnull=False)),
                name="books_ach_payment_batched_has_batch",
            ),
            models.CheckConstraint(
                condition=~Q(status="returned") | Q(returned_on__isnull=False),
                name="books_ach_payment_returned_dated",
            ),
            models.UniqueConstraint(
                fields=["batch", "trace_number"],
                condition=Q(batch__isnull=False),
                name="books_ach_payment_trace_once_per_batch",
            ),
        ]
        indexes = [models.Index(fields=["firm", "status", "id"], name="books_ach_queue")]

    def __str__(self) -> str:
        return f"ACH payment of check {self.disbursement_id} ({self.status})"


# --- LEDES e-billing (issue 15, ADR 0044) ---


class LedesClassification(models.TextChoices):
    """The timekeeper classifications of LEDES 1998B."""

    PARTNER = "PT", "Partner"
    ASSOCIATE = "AS", "Associate"
    OF_COUNSEL = "OC", "Of counsel"
    LEGAL_ASSISTANT = "LA", "Legal assistant (paralegal)"
    OTHER = "OT", "Other timekeeper"


class LedesSettings(models.Model):
    """What a firm's LEDES 1998B files say of the firm (Settings -> LEDES e-billing):
    ``law_firm_id`` (LAW_FIRM_ID: the firm's federal tax ID, as the specification asks)
    and the UTBMS task and activity codes a fee line is billed under when it has none of
    its own (``InvoiceLine.utbms_*``, ADR 0054; a PI firm's fee is usually one contingency
    fee)."""

    firm = models.OneToOneField(Firm, on_delete=models.PROTECT, related_name="ledes_settings")
    law_firm_id = models.CharField(max_length=20)
    fee_task_code = models.CharField(max_length=4)
    fee_activity_code = models.CharField(max_length=4)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(law_firm_id=""), name="books_ledes_law_firm_id_set"
            ),
        ]

    def __str__(self) -> str:
        return f"LEDES settings of firm {self.firm_id}"


class LedesMatter(models.Model):
    """A file's identifiers in its LEDES files (File -> LEDES IDs): ``client_id``
    (CLIENT_ID; blank: the client contact's number in the books) and ``client_matter_id``
    (CLIENT_MATTER_ID: the client's own reference, e.g. the insurer's claim number)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    file = models.OneToOneField(File, on_delete=models.PROTECT, related_name="ledes")
    client_id = models.CharField(max_length=20, blank=True)
    client_matter_id = models.CharField(max_length=20, blank=True)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"LEDES IDs of file {self.file_id}"


class LedesTimekeeper(models.Model):
    """A timekeeper's LEDES identity (Rates/Codes -> Timekeepers -> LEDES): TIMEKEEPER_ID
    (``timekeeper_id``; blank: the user's number in the books) and the classification."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    user = models.OneToOneField(User, on_delete=models.PROTECT, related_name="ledes")
    timekeeper_id = models.CharField(max_length=20, blank=True)
    classification = models.CharField(max_length=2, choices=LedesClassification.choices)
    updated_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(classification__in=LedesClassification.values),
                name="books_ledes_classification_known",
            ),
        ]

    def __str__(self) -> str:
        return f"LEDES timekeeper {self.user_id}"


# --- 1099 payees (issue 15, ADR 0045) ---


class TaxBox(models.TextChoices):
    """A 1099 form and box a payment is reported in (the form first: ``NEC-1``)."""

    NEC_1 = "NEC-1", "1099-NEC box 1: nonemployee compensation"
    MISC_1 = "MISC-1", "1099-MISC box 1: rents"
    MISC_3 = "MISC-3", "1099-MISC box 3: other income"
    MISC_6 = "MISC-6", "1099-MISC box 6: medical and health care payments"
    MISC_10 = "MISC-10", "1099-MISC box 10: gross proceeds paid to an attorney"


class TinType(models.TextChoices):
    SSN = "SSN", "SSN (individual)"
    EIN = "EIN", "EIN (business)"


_TAX_BOXES = [b.value for b in TaxBox]


class TaxPayee(models.Model):
    """A contact marked 1099-eligible: its TIN (encrypted with the books' data key,
    ``tin_ciphertext``; only its last four digits kept plain, for the masked display),
    its mailing address as the forms print it, and the form/box its payments default to.
    A contact that is no longer 1099-eligible keeps its row with ``is_1099`` false."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="tax_payee")
    is_1099 = models.BooleanField(default=True)
    tin_type = models.CharField(max_length=3, choices=TinType.choices, blank=True)
    tin_ciphertext = models.TextField(blank=True, default="")
    tin_last4 = models.CharField(max_length=4, blank=True)
    default_box = models.CharField(max_length=8, choices=TaxBox.choices, default=TaxBox.NEC_1)
    address_line1 = models.CharField(max_length=120, blank=True)
    address_line2 = models.CharField(max_length=120, blank=True)
    city = models.CharField(max_length=60, blank=True)
    state = models.CharField(max_length=2, blank=True)
    zip_code = models.CharField(max_length=10, blank=True)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(default_box__in=_TAX_BOXES), name="books_taxpayee_box_known"
            ),
            models.CheckConstraint(
                condition=(Q(tin_type="") & Q(tin_ciphertext="") & Q(tin_last4=""))
                | (Q(tin_type__in=["SSN", "EIN"]) & ~Q(tin_ciphertext="") & ~Q(tin_last4="")),
                name="books_taxpayee_tin_whole",
            ),
        ]

    def __str__(self) -> str:
        return f"1099 payee {self.contact_id}"


class PaymentTaxReport(models.Model):
    """A check reported on a 1099: the payee contact it was paid to and the form/box. A
    table beside :class:`Check` (no column of its own), written when a check is marked
    as a 1099 payment; a voided check keeps its row but never counts."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    #: The check (``payment``: a model field cannot be called ``check``).
    payment = models.OneToOneField(Check, on_delete=models.PROTECT, related_name="tax_report")
    contact = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="tax_reports")
    box = models.CharField(max_length=8, choices=TaxBox.choices)
    updated_by = models.ForeignKey(User, on_delete=models.PROTECT, null=True, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(box__in=_TAX_BOXES), name="books_paymenttax_box_known"
            ),
        ]
        indexes = [models.Index(fields=["firm", "contact"], name="books_paymenttax_contact")]

    def __str__(self) -> str:
        return f"Check {self.payment_id} on {self.box}"


class TaxThreshold(models.Model):
    """The least a payee's yearly total in one form/box must reach to be reported (at or
    above), per tax year; seeded by migration 0021 (ADR 0045) and kept by hand as the law
    changes. A year without rows uses the latest earlier year's."""

    year = models.PositiveSmallIntegerField()
    box = models.CharField(max_length=8, choices=TaxBox.choices)
    threshold_cents = models.BigIntegerField()
    source = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["year", "box"], name="books_taxthreshold_unique"),
            models.CheckConstraint(
                condition=Q(box__in=_TAX_BOXES), name="books_taxthreshold_box_known"
            ),
            models.CheckConstraint(
                condition=Q(threshold_cents__gte=0), name="books_taxthreshold_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.box}: {self.threshold_cents}"


# --- export jobs (issue 15, ADR 0043) ---


class ExportJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class ExportJob(models.Model):
    """A large export written by the worker (``books.tasks.export_job_task``): who asked,
    which report (``books.exports.tables.REPORTS`` key, or ``beancount``) in which format
    with which parameters (the screen's query), how far it has got, and the file it wrote
    under ``$CASEBRIDGE_VAR_DIR/exports/`` (``file_name``, relative to it) until it
    expires (``expires_at``, set when it is done or failed, cleared when it is tried
    again; the hourly cleanup deletes the file and the row of a finished one).
    ``attempt`` counts the workers that took it (the one writing it now, while running:
    a worker left behind by a retry writes nothing to the row), ``progress_at`` is when
    the current one last recorded progress (the sweep judges a dead worker by it)."""

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    report = models.CharField(max_length=40)
    format = models.CharField(max_length=10)
    params = models.JSONField(default=dict)
    title = models.CharField(max_length=200)
    status = models.CharField(
        max_length=10, choices=ExportJobStatus.choices, default=ExportJobStatus.QUEUED
    )
    failure = models.TextField(blank=True, default="")
    rows_done = models.BigIntegerField(default=0)
    rows_total = models.BigIntegerField(null=True, blank=True)
    file_name = models.CharField(max_length=300, blank=True, default="")
    download_name = models.CharField(max_length=200, blank=True, default="")
    size_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    progress_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["requested_by", "-created_at"], name="books_exportjob_user")
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=["queued", "running", "done", "failed"]),
                name="books_exportjob_status_known",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="failed") | ~models.Q(failure=""),
                name="books_exportjob_failed_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="done") | ~models.Q(file_name=""),
                name="books_exportjob_done_has_file",
            ),
            models.CheckConstraint(
                condition=models.Q(rows_done__gte=0), name="books_exportjob_rows_done_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"Export {self.pk} ({self.report}, {self.format}, {self.status})"

    @property
    def percent(self) -> int | None:
        if self.status == ExportJobStatus.DONE:
            return 100
        if not self.rows_total:
            return None
        return min(99, self.rows_done * 100 // self.rows_total)
