"""The cases side's tables. Every row belongs to one firm; amounts are integer cents and
rates are integer basis points (3333 = 33.33%).

Invariants held by the database as well as by the services:
- cost amounts are positive; only a Property Damage Fee may be negative (a waiver);
- a staged trust item's amount is positive;
- at most one accepted offer per payer on a case; case numbers unique per firm;
- emails unique per firm (case-insensitive).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower

from casebridge.core import words
from casebridge.core.models import IdempotencyRecordBase


class Firm(models.Model):
    """A law firm using the case manager. Holds the firm-wide settlement defaults."""

    code = models.SlugField(max_length=40, unique=True, help_text="Firm ID typed at login.")
    name = models.CharField(max_length=200)
    default_fee_rate_bp = models.PositiveIntegerField(default=3333)  # 33.33%
    default_copp_cents = models.BigIntegerField(default=0)
    default_property_damage_fee_cents = models.BigIntegerField(default=0)
    fee_changes_need_approval = models.BooleanField(default=True)
    next_case_number = models.PositiveIntegerField(default=1)
    #: No cost or deposit is dated before it (ADR 0007). Unset: the first cost's or
    #: deposit's date stands for it (ten years back while there is none). Account
    #: Settings -> Opening date.
    opening_date = models.DateField(null=True, blank=True)
    #: The firm's IANA time zone: what "today" is for its people, its API clients and its
    #: nightly jobs (core/timezones.py). Unset: the server's CASEBRIDGE_TIME_ZONE.
    time_zone = models.CharField(max_length=64, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(default_fee_rate_bp__lte=10000), name="cases_firm_fee_rate_max_100"
            ),
            models.CheckConstraint(
                condition=Q(default_copp_cents__gte=0), name="cases_firm_copp_gte_0"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Permission(models.TextChoices):
    """What a user may do beyond working cases. A firm administrator may do everything."""

    ADMIN_SETTINGS = "admin_settings", "Administration settings page access"
    COSTS_MANAGEMENT = "costs_management", "Costs management"
    DEPOSIT_SETTLEMENT = "deposit_settlement", "Deposit settlement checks"


def person_name(first_name: str, last_name: str, email: str) -> str:
    """A user's name as the screens show it (:attr:`User.display_name`), from the columns
    (a list read as plain rows builds no User)."""
    return f"{first_name} {last_name}".strip() or email


class User(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="users")
    email = models.EmailField()
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    is_firm_admin = models.BooleanField(default=False)
    is_attorney = models.BooleanField(default=False)
    perm_admin_settings = models.BooleanField(default=False)
    perm_costs_management = models.BooleanField(default=False)
    perm_deposit_settlement = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    password = models.CharField(max_length=256)
    #: The second factor (issue 13): the TOTP secret, Fernet-encrypted
    #: (:mod:`casebridge.core.twofactor`); the counter of the last code used, so a code
    #: works once.
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
                "firm", Lower("email"), name="cases_user_email_unique_per_firm"
            ),
        ]
        ordering = ["last_name", "first_name", "email"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return person_name(self.first_name, self.last_name, self.email)

    @property
    def has_totp(self) -> bool:
        return self.totp_enabled_at is not None and bool(self.totp_secret)

    def has_permission(self, permission: Permission) -> bool:
        if self.is_firm_admin:
            return True
        return bool(getattr(self, f"perm_{permission.value}"))


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
                fields=["user", "code_hash"], name="cases_recovery_code_unique_per_user"
            ),
        ]

    def __str__(self) -> str:
        return f"recovery code {self.pk}"


class Contact(models.Model):
    """A client, payee, insurer, lienholder or anyone else the firm deals with."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="contacts")
    name = models.CharField(max_length=200)
    address = models.TextField(blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    #: True once any cost names the contact as its payee (set by a trigger on the costs,
    #: whoever writes them; never cleared): Costs Management sorted by payee walks these
    #: contacts alone, not every client (migration 0016). NULL, not False, for the others,
    #: so that SQLite adds the column without rebuilding the table (and its triggers).
    is_payee = models.BooleanField(null=True, editable=False)
    #: A doctor, clinic, hospital or therapist who treats clients (the Treatment tab,
    #: issue 16): offered as a provider and the holder of the lien a bill becomes.
    is_medical_provider = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["firm", "name"], name="cases_contact_name"),
            # The payees by name (Costs Management sorted by payee).
            models.Index(fields=["firm", "is_payee", "name", "id"], name="cases_contact_payees"),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CaseType(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="case_types")
    name = models.CharField(max_length=100)
    is_default = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint("firm", Lower("name"), name="cases_case_type_unique_per_firm"),
            models.UniqueConstraint(
                fields=["firm"], condition=Q(is_default=True), name="cases_one_default_case_type"
            ),
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CaseStatus(models.TextChoices):
    INTAKE = "intake", "Intake"
    OPEN = "open", "Open"
    SETTLED = "settled", "Settled"
    CLOSED = "closed", "Closed"


class Case(models.Model):
    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="cases")
    number = models.CharField(max_length=40)
    name = models.CharField(max_length=200, help_text="Caption, e.g. Lopez v. Acme Trucking")
    client = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="cases")
    case_type = models.ForeignKey(CaseType, on_delete=models.PROTECT)
    responsible_attorney = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    incident_date = models.DateField(null=True, blank=True)
    #: Where the claim lies and what it is: with the incident date they pick the statute of
    #: limitations rule (issue 16). Blank: not known yet.
    jurisdiction_state = models.CharField(max_length=2, blank=True)
    claim_type = models.CharField(max_length=30, blank=True)
    tolling_notes = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=CaseStatus.choices, default=CaseStatus.INTAKE)
    linked_cases = models.ManyToManyField("self", blank=True, symmetrical=True)
    opened_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "number"], name="cases_case_number_unique_per_firm"
            ),
        ]
        indexes = [models.Index(fields=["firm", "status"], name="cases_case_status")]
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class CostCode(models.Model):
    """What a cost is: the UTBMS expense codes (E101-E124) and the firm's own."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="cost_codes")
    code = models.CharField(max_length=20)
    name = models.CharField(max_length=120)
    is_utbms = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint("firm", Lower("code"), name="cases_cost_code_unique_per_firm"),
        ]
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CostStatus(models.TextChoices):
    OPEN = "open", "Open"
    PENDING = "pending", "Pending"  # sent to the books, check not yet printed (the bridge)
    PAID = "paid", "Paid"
    VOID = "void", "Void"


class CostPriority(models.TextChoices):
    LOW = "low", "Low"
    NORMAL = "normal", "Normal"
    HIGH = "high", "High"
    URGENT = "urgent", "Urgent"


class Cost(models.Model):
    """A cost the firm advances on a case. A void cost shows as $0.00 void and leaves the
    case's total; its original amount is kept."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="costs")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="costs")
    payee = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="costs_payable")
    amount_cents = models.BigIntegerField()
    invoice_reference = models.CharField(max_length=60, blank=True)
    priority = models.CharField(
        max_length=10, choices=CostPriority.choices, default=CostPriority.NORMAL
    )
    cost_code = models.ForeignKey(CostCode, on_delete=models.PROTECT)
    memo = models.CharField(max_length=500, blank=True)
    cost_date = models.DateField()
    status = models.CharField(max_length=10, choices=CostStatus.choices, default=CostStatus.OPEN)
    paid_date = models.DateField(null=True, blank=True)
    payment_method = models.CharField(max_length=10, blank=True)  # check, card (no bridge), ach
    payment_reference = models.CharField(max_length=60, blank=True)  # check or card number
    sent_at = models.DateTimeField(null=True, blank=True)  # set by the bridge
    voided_on = models.DateField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    split_from = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="split_parts"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    #: The case's responsible attorney, kept by triggers (migration 0016): set from the case
    #: on every insert and change of case, and moved with the case's attorney; so that an
    #: attorney's costs are an index range (Costs Management's attorney filter) instead of
    #: a probe per case of theirs. Never written by the application.
    attorney = models.ForeignKey(
        User,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        editable=False,
        db_constraint=False,  # a copy of the case's (constrained); SQLite drops it in place
        db_index=False,
        related_name="+",
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="cases_cost_amount_positive"
            ),
            models.CheckConstraint(
                condition=~Q(status="paid") | Q(paid_date__isnull=False),
                name="cases_cost_paid_has_date",
            ),
        ]
        indexes = [
            # Costs Management (selectors/costs.py): a tab (status) sorted by date or amount,
            # newest first, walked by keyset. Each filter's index ends with the amount, so
            # its count and total are read from the index alone.
            models.Index(
                fields=["firm", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_tab_date_amount",
            ),
            models.Index(
                fields=["firm", "status", "-amount_cents", "-id"], name="cases_cost_tab_amount"
            ),
            # An attorney's costs (their cases' costs, ``attorney`` kept by triggers), by date,
            # with or without a date range; their count and total from the index alone.
            models.Index(
                fields=["firm", "attorney", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_attorney_date",
            ),
            # A case's costs; the tab sorted by case (each case's costs newest first, walked
            # case by case).
            models.Index(
                fields=["case", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_case_date_amount",
            ),
            # A payee's costs, newest first, with or without a date range; the tab sorted
            # by payee (walked payee by payee).
            models.Index(
                fields=["payee", "status", "-cost_date", "-id", "amount_cents"],
                name="cases_cost_payee_date_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"Cost {self.pk} {self.amount_cents}"

    @property
    def shown_amount_cents(self) -> int:
        """What the case shows: a void cost counts as $0.00."""
        return 0 if self.status == CostStatus.VOID else self.amount_cents

    @property
    def described(self) -> str:
        """The cost as its row shows it: "cost of 2026-11-02 to Records Inc for $125.00"
        (the labels of its row's actions; :func:`casebridge.core.words.cost_words`)."""
        return words.cost_words(self.cost_date, self.payee.name, self.amount_cents)


class CostTabTotal(models.Model):
    """The count and the sum of the costs of one firm in one status: the Costs Management
    tabs' figures, read in one row however many costs there are.

    Maintained by database triggers on ``cases_cost`` (migration 0008): every INSERT,
    UPDATE and DELETE, from the ORM, a bulk ``UPDATE`` or raw SQL, moves the figures in the
    same transaction. Python never writes these rows.
    """

    firm = models.ForeignKey(Firm, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(max_length=10, choices=CostStatus.choices)
    count = models.BigIntegerField(default=0)
    total_cents = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["firm", "status"], name="cases_costtabtotal_tab"),
        ]

    def __str__(self) -> str:
        return f"{self.status} costs of firm {self.firm_id}: {self.count}, {self.total_cents}"


class Settlement(models.Model):
    """A case's settlement terms: fee, COPP charges and the Property Damage Fee. One per
    case, created with the firm's defaults; its row is the lock for staging."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="settlement")
    fee_mode = models.CharField(
        max_length=10,
        choices=[("percent", "Percentage"), ("fixed", "Fixed amount")],
        default="percent",
    )
    fee_rate_bp = models.PositiveIntegerField(default=0)
    fee_fixed_cents = models.BigIntegerField(default=0)
    fee_on_net_of_costs = models.BooleanField(
        default=False, help_text="Compute the percentage on the gross less costs."
    )
    copp_cents = models.BigIntegerField(default=0)
    property_damage_fee_cents = models.BigIntegerField(default=0)  # negative = waiver
    pushed_to_client_trust_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(fee_rate_bp__lte=10000), name="cases_fee_rate_max_100"
            ),
            models.CheckConstraint(
                condition=Q(fee_fixed_cents__gte=0), name="cases_fee_fixed_gte_0"
            ),
            models.CheckConstraint(condition=Q(copp_cents__gte=0), name="cases_copp_gte_0"),
        ]

    def __str__(self) -> str:
        return f"Settlement of case {self.case_id}"


class NegotiationKind(models.TextChoices):
    DEMAND = "demand", "Demand"
    OFFER = "offer", "Offer"


class Negotiation(models.Model):
    """A demand made or an offer received. Accepting an offer locks it."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="negotiations")
    kind = models.CharField(max_length=10, choices=NegotiationKind.choices)
    party = models.ForeignKey(Contact, on_delete=models.PROTECT, help_text="Insurer or defendant")
    amount_cents = models.BigIntegerField()
    made_on = models.DateField()
    note = models.CharField(max_length=255, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="cases_negotiation_positive"
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True) | Q(kind="offer"),
                name="cases_only_offers_accepted",
            ),
            models.UniqueConstraint(
                fields=["case", "party"],
                condition=Q(accepted_on__isnull=False),
                name="cases_one_accepted_offer_per_payer",
            ),
        ]
        ordering = ["made_on", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount_cents}"

    @property
    def is_accepted(self) -> bool:
        return self.accepted_on is not None


class Deposit(models.Model):
    """A settlement check deposited into client trust, against an accepted offer."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deposits")
    offer = models.ForeignKey(Negotiation, on_delete=models.PROTECT, related_name="deposits")
    amount_cents = models.BigIntegerField()
    check_number = models.CharField(max_length=40)
    deposited_on = models.DateField()
    voided_on = models.DateField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_cents__gt=0), name="cases_deposit_positive"),
        ]

    def __str__(self) -> str:
        return f"Deposit {self.check_number} {self.amount_cents}"


class LienKind(models.TextChoices):
    MEDICAL = "medical", "Medical bill"
    HEALTH_INSURANCE = "health_insurance", "Health insurance lien"
    MEDICARE = "medicare", "Medicare"
    MEDICAID = "medicaid", "Medicaid"
    ATTORNEY = "attorney", "Attorney (referral) lien"
    SETTLEMENT_LOAN = "settlement_loan", "Settlement loan"
    MISC = "misc", "Miscellaneous"


class Lien(models.Model):
    """A lien or third-party claim on the settlement. Its final amount is accepted (and
    locked) before a payment can be staged."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="liens")
    kind = models.CharField(max_length=20, choices=LienKind.choices)
    holder = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="liens_held")
    claimed_cents = models.BigIntegerField()
    final_cents = models.BigIntegerField(null=True, blank=True)
    accepted_on = models.DateField(null=True, blank=True)
    paid_direct = models.BooleanField(default=False)
    note = models.CharField(max_length=255, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(claimed_cents__gte=0), name="cases_lien_claimed_gte_0"
            ),
            models.CheckConstraint(
                condition=Q(final_cents__isnull=True) | Q(final_cents__gte=0),
                name="cases_lien_final_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(accepted_on__isnull=True) | Q(final_cents__isnull=False),
                name="cases_lien_accepted_has_final",
            ),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.holder_id}"


class TrustItemKind(models.TextChoices):
    FEE = "fee", "Attorney fee"
    COST_REIMBURSEMENT = "cost_reimbursement", "Cost reimbursement"
    COPP = "copp", "COPP charges"
    PROPERTY_DAMAGE_FEE = "property_damage_fee", "Property Damage Fee"
    LIEN = "lien", "Lien / third-party payment"
    CLIENT = "client", "Client's final check"


class TrustItemStatus(models.TextChoices):
    STAGED = "staged", "Staged"
    TO_BE_DISBURSED = "to_be_disbursed", "To be disbursed"
    #: Set by an integration (the bridge) when its check is printed or its invoice is final.
    DISBURSED = "disbursed", "Disbursed"


class TrustItem(models.Model):
    """A staged payment out of the client's trust money (Stage Payment). The amounts of a
    case's items never exceed what has been deposited; the client's item is the remainder
    (Push to Client Trust). A "paid direct" item is recorded and never becomes a check."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="trust_items")
    kind = models.CharField(max_length=20, choices=TrustItemKind.choices)
    payee_name = models.CharField(max_length=200)
    amount_cents = models.BigIntegerField()
    lien = models.OneToOneField(
        Lien, on_delete=models.PROTECT, null=True, blank=True, related_name="trust_item"
    )
    paid_direct = models.BooleanField(default=False)
    note = models.CharField(max_length=255, blank=True)
    status = models.CharField(
        max_length=20, choices=TrustItemStatus.choices, default=TrustItemStatus.STAGED
    )
    check_number = models.CharField(max_length=40, blank=True)
    #: The fee invoice that took a fee, charge or cost reimbursement out of trust ("Invoice
    #: 17"), set with ``disbursed_on`` when the books finalise it (the bridge); or the ACH
    #: payment that paid it ("ACH <trace number>"), when the books sent it to the bank.
    invoice_reference = models.CharField(max_length=40, blank=True)
    disbursed_on = models.DateField(null=True, blank=True)
    staged_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    staged_at = models.DateTimeField()
    pushed_to_disbursement_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_cents__gt=0), name="cases_trust_item_positive"
            ),
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(
                    kind__in=["fee", "cost_reimbursement", "copp", "property_damage_fee", "client"]
                ),
                name="cases_one_trust_item_per_kind",
            ),
        ]
        indexes = [models.Index(fields=["firm", "status", "case"], name="cases_trust_item_status")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_cents}"


class FeeChangeStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class FeeChangeRequest(models.Model):
    """A request to change a case's fee, for an administrator to approve (when the firm
    requires approval)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="fee_change_requests")
    fee_mode = models.CharField(max_length=10)
    fee_rate_bp = models.PositiveIntegerField(default=0)
    fee_fixed_cents = models.BigIntegerField(default=0)
    reason = models.CharField(max_length=500)
    status = models.CharField(
        max_length=10, choices=FeeChangeStatus.choices, default=FeeChangeStatus.PENDING
    )
    requested_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=Q(status="pending"), name="cases_one_pending_fee_change"
            ),
        ]

    def __str__(self) -> str:
        return f"Fee change for case {self.case_id} ({self.status})"


class IdempotencyRecord(IdempotencyRecordBase):
    """See :class:`~casebridge.core.models.IdempotencyRecordBase`."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["firm", "scope", "key"], name="cases_idempotency_unique"
            ),
        ]


class ApiToken(models.Model):
    """A bearer token for the cases side's API (``POST /cases/api/v1/auth/session``); only
    its SHA-256 is stored. Lapses 30 days after it is issued; logging out revokes it."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=12)
    issued_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    #: Requests a minute this token may make (on the cases API and, counted apart, on the
    #: bridge's); null: ``CASEBRIDGE_API_RATE_LIMIT``.
    rate_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}... ({self.user_id}, expires {self.expires_at:%Y-%m-%d})"


# --- Lien reductions (issue 16) ---


class LienReductionStep(models.TextChoices):
    REQUESTED = "requested", "Reduction requested"
    COUNTERED = "countered", "Holder countered"
    ACCEPTED = "accepted", "Accepted"
    WITHDRAWN = "withdrawn", "Request withdrawn"
    REFUSED = "refused", "Holder refused"


#: The steps that carry an amount; withdrawn and refused carry none.
REDUCTION_STEPS_WITH_AMOUNT = (
    LienReductionStep.REQUESTED,
    LienReductionStep.COUNTERED,
    LienReductionStep.ACCEPTED,
)


class LienReduction(models.Model):
    """One step of the negotiation of a lien's reduction: the firm's request, the holder's
    counter, the agreement (which accepts and locks the lien through ``lien_accept``), or a
    request withdrawn or refused. Append-only: a step is never changed or deleted (a
    trigger refuses it), so the rows are the history."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    lien = models.ForeignKey(Lien, on_delete=models.PROTECT, related_name="reductions")
    step = models.CharField(max_length=20, choices=LienReductionStep.choices)
    amount_cents = models.BigIntegerField(null=True, blank=True)
    #: The day the step happened (the letter's date), within the firm's date window.
    made_on = models.DateField()
    note = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(step__in=[s.value for s in LienReductionStep]),
                name="cases_lienreduction_step_known",
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__isnull=True) | Q(amount_cents__gte=0),
                name="cases_lienreduction_amount_gte_0",
            ),
            models.CheckConstraint(
                condition=(
                    Q(step__in=[s.value for s in REDUCTION_STEPS_WITH_AMOUNT])
                    & Q(amount_cents__isnull=False)
                )
                | (
                    Q(step__in=[LienReductionStep.WITHDRAWN, LienReductionStep.REFUSED])
                    & Q(amount_cents__isnull=True)
                ),
                name="cases_lienreduction_amount_per_step",
            ),
        ]
        indexes = [models.Index(fields=["lien", "id"], name="cases_lienreduction_lien")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.get_step_display()} {self.lien_id}"


# --- Medical treatment and bills (issue 16) ---


class TreatmentStatus(models.TextChoices):
    TREATING = "treating", "Treating"
    FINISHED = "finished", "Finished"
    REFERRED = "referred", "Referred"
    STOPPED = "stopped", "Stopped"


class Treatment(models.Model):
    """A client's treatment by one provider on a case: first and last visit and where it
    stands. The last visit is never before the first (the database checks it too)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="treatments")
    provider = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="treatments")
    first_visit = models.DateField(null=True, blank=True)
    last_visit = models.DateField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=TreatmentStatus.choices, default=TreatmentStatus.TREATING
    )
    note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(first_visit__isnull=True)
                | Q(last_visit__isnull=True)
                | Q(last_visit__gte=models.F("first_visit")),
                name="cases_treatment_last_after_first",
            ),
        ]
        indexes = [models.Index(fields=["case", "id"], name="cases_treatment_case")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Treatment {self.pk} of case {self.case_id}"


#: The four payers of a bill besides the settlement, as (field, label).
BILL_PAYERS = (
    ("paid_health_insurance_cents", "Paid by health insurance"),
    ("paid_medpay_cents", "Paid by MedPay"),
    ("paid_pip_cents", "Paid by PIP"),
    ("paid_client_cents", "Paid by the client"),
)


class Bill(models.Model):
    """A provider's bill on a case: billed, written off (adjustments), paid by health
    insurance, MedPay, PIP and the client; the outstanding balance is what is left and is
    never negative (a CHECK holds it). Corrected by an edit (audited before/after) or
    voided, never deleted; once its balance became a lien (``lien``) it is locked."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="bills")
    treatment = models.ForeignKey(
        Treatment, on_delete=models.PROTECT, null=True, blank=True, related_name="bills"
    )
    provider = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="bills")
    service_from = models.DateField(null=True, blank=True)
    service_to = models.DateField(null=True, blank=True)
    bill_date = models.DateField(null=True, blank=True)
    billed_cents = models.BigIntegerField()
    adjustments_cents = models.BigIntegerField(default=0)
    paid_health_insurance_cents = models.BigIntegerField(default=0)
    paid_medpay_cents = models.BigIntegerField(default=0)
    paid_pip_cents = models.BigIntegerField(default=0)
    paid_client_cents = models.BigIntegerField(default=0)
    reference = models.CharField(max_length=60, blank=True)
    lien = models.OneToOneField(
        Lien, on_delete=models.PROTECT, null=True, blank=True, related_name="bill"
    )
    voided_on = models.DateField(null=True, blank=True)
    void_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(billed_cents__gte=0)
                & Q(adjustments_cents__gte=0)
                & Q(paid_health_insurance_cents__gte=0)
                & Q(paid_medpay_cents__gte=0)
                & Q(paid_pip_cents__gte=0)
                & Q(paid_client_cents__gte=0),
                name="cases_bill_amounts_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(
                    billed_cents__gte=models.F("adjustments_cents")
                    + models.F("paid_health_insurance_cents")
                    + models.F("paid_medpay_cents")
                    + models.F("paid_pip_cents")
                    + models.F("paid_client_cents")
                ),
                name="cases_bill_outstanding_gte_0",
            ),
            models.CheckConstraint(
                condition=Q(service_from__isnull=True)
                | Q(service_to__isnull=True)
                | Q(service_to__gte=models.F("service_from")),
                name="cases_bill_service_range",
            ),
            models.CheckConstraint(
                condition=Q(voided_on__isnull=True) | Q(lien__isnull=True),
                name="cases_bill_void_has_no_lien",
            ),
        ]
        indexes = [models.Index(fields=["case", "id"], name="cases_bill_case")]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Bill {self.pk} of case {self.case_id}"

    @property
    def paid_cents(self) -> int:
        return sum(getattr(self, name) for name, _ in BILL_PAYERS)

    @property
    def outstanding_cents(self) -> int:
        """Billed less adjustments and every payment: what the provider is still owed."""
        return self.billed_cents - self.adjustments_cents - self.paid_cents

    @property
    def is_void(self) -> bool:
        return self.voided_on is not None


class MedicalRequest(models.Model):
    """The firm's requests to one provider on a case for the client's records and bills:
    when each was asked for and received, and when to follow up. One per provider and
    case; a receipt is never before its request."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT)
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="medical_requests")
    provider = models.ForeignKey(Contact, on_delete=models.PROTECT, related_name="+")
    records_requested_on = models.DateField(null=True, blank=True)
    records_received_on = models.DateField(null=True, blank=True)
    bills_requested_on = models.DateField(null=True, blank=True)
    bills_received_on = models.DateField(null=True, blank=True)
    follow_up_on = models.DateField(null=True, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["case", "provider"], name="cases_medical_request_one_per_provider"
            ),
            models.CheckConstraint(
                condition=Q(records_received_on__isnull=True)
                | Q(records_requested_on__isnull=True)
                | Q(records_received_on__gte=models.F("records_requested_on")),
                name="cases_medical_request_records_order",
            ),
            models.CheckConstraint(
                condition=Q(bills_received_on__isnull=True)
                | Q(bills_requested_on__isnull=True)
                | Q(bills_received_on__gte=models.F("bills_requested_on")),
                name="cases_medical_request_bills_order",
            ),
        ]
        ordering = ["id"]

    def __str__(self) -> str:
        return f"Records and bills request {self.pk} of case {self.case_id}"


# --- Medicare (issue 16) ---


class ClientMedicareStatus(models.Model):
    """Whether a client (a contact) is a Medicare beneficiary: a fact about the person, so
    it holds on every case of theirs (ADR 0039). Kept beside the contact rather than on it,
    so the Medicare Secondary Payer rules stay in one place. No row: not known to be one."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    contact = models.OneToOneField(
        Contact, on_delete=models.PROTECT, related_name="medicare_status"
    )
    is_beneficiary = models.BooleanField(default=False)
    changed_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    changed_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Medicare beneficiary: {self.is_beneficiary}"


class MedicareClaim(models.Model):
    """A case's Medicare conditional payment case (Medicare Secondary Payer recovery): its
    steps are :class:`MedicareStep` rows, newest of a kind counting. One per case; linked to
    the case's Medicare lien when it has one."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="medicare_claim")
    lien = models.OneToOneField(
        Lien, on_delete=models.PROTECT, null=True, blank=True, related_name="medicare_claim"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"Medicare claim of case {self.case_id}"


class MedicareStepKind(models.TextChoices):
    NOTICE_SENT = "notice_sent", "Notice of settlement sent"
    CONDITIONAL_PAYMENT_LETTER = "conditional_payment_letter", "Conditional payment letter"
    DISPUTE_FILED = "dispute_filed", "Dispute filed"
    DISPUTE_RESOLVED = "dispute_resolved", "Dispute resolved"
    FINAL_DEMAND = "final_demand", "Final demand received"
    PORTAL_FINAL = "portal_final", "Final conditional payment amount (recovery portal)"
    FIXED_PERCENTAGE = "fixed_percentage", "Fixed-percentage option elected"
    PAYMENT = "payment", "Payment made"


#: The steps that carry an amount (and must; a voided step is kept as it was recorded).
MEDICARE_AMOUNT_STEPS = (
    MedicareStepKind.CONDITIONAL_PAYMENT_LETTER,
    MedicareStepKind.FINAL_DEMAND,
    MedicareStepKind.PORTAL_FINAL,
    MedicareStepKind.FIXED_PERCENTAGE,
    MedicareStepKind.PAYMENT,
)
#: The steps that settle what Medicare is owed, so the client's check may go out.
MEDICARE_RELEASING_STEPS = (
    MedicareStepKind.FINAL_DEMAND,
    MedicareStepKind.PORTAL_FINAL,
    MedicareStepKind.FIXED_PERCENTAGE,
)


class MedicareStep(models.Model):
    """One dated step of a Medicare claim. Rows are only added: a corrected letter is a new
    step of the same kind, and the newest of a kind counts. A step recorded in error is
    voided with a reason (the row stays; a voided step no longer counts)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    claim = models.ForeignKey(MedicareClaim, on_delete=models.PROTECT, related_name="steps")
    kind = models.CharField(max_length=30, choices=MedicareStepKind.choices)
    on = models.DateField()
    amount_cents = models.BigIntegerField(null=True, blank=True)
    note = models.CharField(max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recorded_at = models.DateTimeField()
    voided_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=MedicareStepKind.values), name="cases_medicare_step_kind"
            ),
            models.CheckConstraint(
                condition=Q(voided_at__isnull=True) | ~Q(void_reason=""),
                name="cases_medicare_step_void_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(amount_cents__isnull=True) | Q(amount_cents__gte=0),
                name="cases_medicare_step_amount_gte_0",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=[k.value for k in MEDICARE_AMOUNT_STEPS])
                | Q(amount_cents__isnull=False)
                | Q(voided_at__isnull=False),
                name="cases_medicare_step_amount_required",
            ),
        ]
        indexes = [
            models.Index(fields=["claim", "kind", "-on", "-id"], name="cases_medicare_step_kind_on")
        ]
        ordering = ["on", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on}"


class MedicareHoldOverride(models.Model):
    """A firm administrator lets a case's client check go out although the Medicare hold
    applies, with a reason. In effect until revoked (the row stays, with who revoked it)."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="medicare_overrides")
    reason = models.CharField(max_length=500)
    granted_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    granted_at = models.DateTimeField()
    revoked_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~Q(reason=""), name="cases_medicare_override_has_reason"
            ),
            models.UniqueConstraint(
                fields=["case"],
                condition=Q(revoked_at__isnull=True),
                name="cases_one_medicare_override_in_effect",
            ),
        ]
        ordering = ["-granted_at", "-id"]

    def __str__(self) -> str:
        return f"Medicare hold override of case {self.case_id}"


# --- Statutes of limitations and deadlines (issue 16) ---


class ClaimType(models.TextChoices):
    NEGLIGENCE = "negligence", "Negligence"
    MEDICAL_MALPRACTICE = "medical_malpractice", "Medical malpractice"
    WRONGFUL_DEATH = "wrongful_death", "Wrongful death"
    PROPERTY_DAMAGE = "property_damage", "Property damage"


class RuleType(models.TextChoices):
    STATUTE = "statute", "Statute of limitations"
    GOVERNMENT_NOTICE = "government_notice", "Notice of claim against a government entity"
    MINOR_TOLLING = "minor_tolling", "Tolling for minors"


class PeriodUnit(models.TextChoices):
    YEARS = "years", "years"
    MONTHS = "months", "months"
    DAYS = "days", "days"


class LimitationRule(models.Model):
    """A jurisdiction's limitation period for a claim type, as the firm records it: the
    period runs from the incident (accrual) date, for incidents from ``effective_from``
    (blank: any earlier date) to ``effective_until`` (blank: still in force), both
    inclusive. Never deleted (a trigger refuses it): deactivated."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="limitation_rules")
    state = models.CharField(max_length=2, help_text="Two-letter state code, e.g. FL.")
    claim_type = models.CharField(max_length=30, choices=ClaimType.choices)
    rule_type = models.CharField(max_length=30, choices=RuleType.choices)
    period_count = models.PositiveSmallIntegerField()
    period_unit = models.CharField(max_length=10, choices=PeriodUnit.choices)
    effective_from = models.DateField(null=True, blank=True)
    effective_until = models.DateField(null=True, blank=True)
    citation = models.CharField(max_length=200)
    verify_with_counsel = models.BooleanField(default=True)
    note = models.CharField(max_length=500, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(period_count__gt=0), name="cases_limitation_rule_period_positive"
            ),
            models.CheckConstraint(
                condition=Q(effective_from__isnull=True)
                | Q(effective_until__isnull=True)
                | Q(effective_until__gte=models.F("effective_from")),
                name="cases_limitation_rule_dates_in_order",
            ),
        ]
        indexes = [
            models.Index(
                fields=["firm", "state", "claim_type", "rule_type"],
                name="cases_limitation_rule_lookup",
            )
        ]
        # a rule open to any earlier incident date first, on both databases (PostgreSQL
        # sorts NULL last ascending, SQLite first): issue 16's lows, ADR 0052
        ordering = [
            "state",
            "claim_type",
            "rule_type",
            models.F("effective_from").asc(nulls_first=True),
            "id",
        ]

    def __str__(self) -> str:
        return f"{self.state} {self.get_claim_type_display()} {self.period_words}"

    @property
    def period_words(self) -> str:
        unit = self.period_unit if self.period_count != 1 else self.period_unit[:-1]
        return f"{self.period_count} {unit}"


class DeadlineKind(models.TextChoices):
    STATUTE = "statute", "Statute of limitations (computed)"
    NOTICE = "notice", "Notice deadline (computed)"
    MANUAL = "manual", "Critical deadline"


class DeadlineStatus(models.TextChoices):
    OPEN = "open", "Open"
    SATISFIED = "satisfied", "Satisfied"


class Deadline(models.Model):
    """A date a case must not miss. Never deleted (a trigger refuses it): satisfied, or its
    due date changed with a reason (audited). A computed one follows the case's incident
    date, state and claim type (``computed_due_date``) until someone sets it by hand."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="deadlines")
    kind = models.CharField(max_length=10, choices=DeadlineKind.choices)
    title = models.CharField(max_length=200)
    due_date = models.DateField()
    computed_due_date = models.DateField(null=True, blank=True)
    rule = models.ForeignKey(
        LimitationRule, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    set_by_hand = models.BooleanField(default=False)
    verify_with_counsel = models.BooleanField(default=False)
    status = models.CharField(
        max_length=10, choices=DeadlineStatus.choices, default=DeadlineStatus.OPEN
    )
    satisfied_on = models.DateField(null=True, blank=True)
    satisfied_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    satisfied_note = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", satisfied_on__isnull=True)
                | Q(status="satisfied", satisfied_on__isnull=False),
                name="cases_deadline_satisfied_has_date",
            ),
            models.UniqueConstraint(
                fields=["case", "kind"],
                condition=Q(kind__in=["statute", "notice"]),
                name="cases_one_computed_deadline_per_kind",
            ),
        ]
        indexes = [
            models.Index(fields=["firm", "status", "due_date", "id"], name="cases_deadline_due"),
            models.Index(fields=["case", "status", "due_date"], name="cases_deadline_case"),
            # The deadlines screen filtered by kind (e.g. the critical ones set by hand), read
            # in due-date order from the index rather than past every other kind's row
            # (bench/pi_depth.py; migration 0019).
            models.Index(
                fields=["firm", "status", "kind", "due_date", "id"], name="cases_deadline_kind_due"
            ),
        ]
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return f"{self.title} due {self.due_date:%Y-%m-%d}"


class DeadlineReminder(models.Model):
    """An in-app notice (and an email where mail is configured) that a deadline is near:
    one per deadline, due date and threshold (90/60/30/7 days), so exactly once."""

    firm = models.ForeignKey(Firm, on_delete=models.PROTECT, related_name="+")
    deadline = models.ForeignKey(Deadline, on_delete=models.PROTECT, related_name="reminders")
    due_date = models.DateField()
    threshold_days = models.PositiveSmallIntegerField()
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, null=True, blank=True, related_name="deadline_reminders"
    )
    created_at = models.DateTimeField()
    #: "sending", "sent", "failed" (tried again later), "gave_up" (after
    #: ``MAX_EMAIL_ATTEMPTS``), "no_mail_configured" or "no_recipient"
    email_status = models.CharField(max_length=200, blank=True)
    #: Review of issue 16 (nullable: added to a table with triggers, ADR 0038): how many
    #: times the email was tried, when a failed one is tried again, the last failure, and
    #: whom it went to (the attorney, or the firm's administrators when the case has none).
    email_attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    email_next_attempt_at = models.DateTimeField(null=True, blank=True)
    email_last_error = models.CharField(max_length=500, null=True, blank=True)
    email_to = models.CharField(max_length=1000, null=True, blank=True)
    #: When the run sending it now (``email_status`` "sending") claimed it: a send claimed
    #: within ``services.deadlines.SEND_TIMEOUT`` is going out now, one claimed longer ago
    #: was cut off (issue 16's lows, migration 0020).
    email_claimed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deadline", "due_date", "threshold_days"],
                name="cases_deadline_reminder_once",
            ),
            models.CheckConstraint(
                condition=Q(threshold_days__in=[90, 60, 30, 7]),
                name="cases_deadline_reminder_threshold",
            ),
        ]
        indexes = [
            models.Index(
                fields=["email_status", "email_next_attempt_at"], name="cases_reminder_retry"
            ),
        ]
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.threshold_days}-day reminder of deadline {self.deadline_id}"


# --- Reminders read, per person (issue 16's lows) ---


class DeadlineReminderRead(models.Model):
    """One person's "read" mark on a deadline reminder. A reminder of a case without an
    attorney is addressed to the firm's administrators as a group: each of them reads it
    for themselves, so the mark belongs to the reader, not to the reminder (migration 0020
    moved the reminders' single ``read_at`` here)."""

    reminder = models.ForeignKey(DeadlineReminder, on_delete=models.PROTECT, related_name="reads")
    #: no index of its own: the unique (user, reminder) one starts with it
    user = models.ForeignKey(
        User, on_delete=models.PROTECT, related_name="reminder_reads", db_index=False
    )
    read_at = models.DateTimeField()

    class Meta:
        constraints = [
            # the index "is it read by me" is answered from, user first
            models.UniqueConstraint(fields=["user", "reminder"], name="cases_reminder_read_once"),
        ]

    def __str__(self) -> str:
        return f"reminder {self.reminder_id} read by user {self.user_id}"
