"""A bank account's details for checks out (issue 11): the routing and account number its
checks' MICR line carries, and the layout of its positive pay file.

Both are firm set-up, changed by a books administrator (:class:`AdminRequired`) and
audited; the full account number is never written to the audit log (its last four digits
are).
"""

from __future__ import annotations

from django.db import transaction

from casebridge.books.audit import books_audit
from casebridge.books.errors import AdminRequired, ValidationFailed
from casebridge.books.models import BankAccount, Firm, PositivePayLayout, User
from casebridge.books.selectors.positive_pay import PositivePayFormat, positive_pay_format_of
from casebridge.core import clock
from casebridge.core.text import plain_line

ACCOUNT_NUMBER_MAX = 17


def aba_routing_problem(routing_number: str) -> str | None:
    """Why ``routing_number`` is no ABA routing number, or None: 9 digits whose checksum
    3(d1+d4+d7) + 7(d2+d5+d8) + (d3+d6+d9) is a multiple of 10."""
    if len(routing_number) != 9 or not routing_number.isascii() or not routing_number.isdigit():
        return "routing number must be 9 digits"
    d = [int(c) for c in routing_number]
    total = 3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + d[2] + d[5] + d[8]
    if total % 10:
        return (
            f"routing number {routing_number} fails the ABA checksum (a digit is wrong or two "
            "are swapped)"
        )
    return None


def _masked(account_number: str) -> str:
    return f"····{account_number[-4:]}" if account_number else ""


def _admin_of(firm: Firm, actor: User | None, what: str) -> None:
    if actor is None or not actor.is_admin or actor.firm_id != firm.pk:
        raise AdminRequired(f"only a books administrator can change {what}")


def _bank(firm: Firm, bank_account_id: int) -> BankAccount:
    bank = BankAccount.objects.filter(firm=firm, pk=bank_account_id).first()
    if bank is None:
        raise ValidationFailed("bank account not found in this firm", field="bank_account")
    return bank


@transaction.atomic
def bank_account_check_printing_set(
    *,
    firm: Firm,
    actor: User | None,
    bank_account_id: int,
    bank_name: str,
    routing_number: str,
    account_number: str,
) -> BankAccount:
    """Set what a bank account's checks print: the bank's name, the ABA routing number
    (blank, or 9 digits with a valid checksum) and the account number (blank, or 1 to 17
    digits: spaces and dashes typed between digits are dropped). Without both numbers its
    checks print with no MICR line. The account number's last four digits follow it.
    Audited with the account number masked."""
    _admin_of(firm, actor, "a bank account's check printing details")
    bank_name = plain_line(bank_name.strip(), field="bank_name")
    if len(bank_name) > 120:
        raise ValidationFailed("bank name is at most 120 characters", field="bank_name")
    routing_number = routing_number.strip()
    if routing_number:
        problem = aba_routing_problem(routing_number)
        if problem is not None:
            raise ValidationFailed(problem, field="routing_number")
    account_number = "".join(account_number.split()).replace("-", "")
    if account_number and not (
        account_number.isascii()
        and account_number.isdigit()
        and len(account_number) <= ACCOUNT_NUMBER_MAX
    ):
        raise ValidationFailed(
            f"account number must be digits only, at most {ACCOUNT_NUMBER_MAX}",
            field="account_number",
        )
    bank = _bank(firm, bank_account_id)
    before = {
        "bank_name": bank.bank_name,
        "routing_number": bank.routing_number,
        "account_number": _masked(bank.account_number),
    }
    bank.bank_name = bank_name
    bank.routing_number = routing_number
    bank.account_number = account_number
    fields = ["bank_name", "routing_number", "account_number"]
    if account_number:
        bank.account_number_last4 = account_number[-4:]
        fields.append("account_number_last4")
    bank.save(update_fields=fields)
    books_audit(
        firm_id=firm.pk,
        action="check_printing_saved",
        entity_type="bank_account",
        entity_id=bank.pk,
        actor=actor,
        summary=f"Check printing details of {bank.name} saved",
        before=before,
        after={
            "bank_name": bank_name,
            "routing_number": routing_number,
            "account_number": _masked(account_number),
        },
    )
    return bank


@transaction.atomic
def positive_pay_layout_save(
    *, firm: Firm, actor: User | None, bank_account_id: int, fmt: PositivePayFormat
) -> PositivePayLayout:
    """Choose (or change) the layout of the bank account's positive pay file (its bank's
    specification, or a generic preset); audited."""
    _admin_of(firm, actor, "a bank account's positive pay layout")
    problems = fmt.problems()
    if problems:
        name, reason = next(iter(problems.items()))
        raise ValidationFailed(reason, field=name)
    bank = _bank(firm, bank_account_id)
    before, saved = positive_pay_format_of(bank)
    layout, _ = PositivePayLayout.objects.update_or_create(
        bank_account=bank,
        defaults={
            "firm": firm,
            "columns": ",".join(c.value for c in fmt.columns),
            "date_format": fmt.date_format.value,
            "amount_format": fmt.amount_format.value,
            "issue_flag": fmt.issue_flag,
            "void_flag": fmt.void_flag,
            "header": fmt.header,
            "updated_by": actor,
            "updated_at": clock.now(),
        },
    )

    def described(f: PositivePayFormat) -> dict[str, object]:
        return {
            "columns": [c.value for c in f.columns],
            "date_format": f.date_format.value,
            "amount_format": f.amount_format.value,
            "issue_flag": f.issue_flag,
            "void_flag": f.void_flag,
            "header": f.header,
        }

    books_audit(
        firm_id=firm.pk,
        action="positive_pay_layout_saved",
        entity_type="bank_account",
        entity_id=bank.pk,
        actor=actor,
        summary=f"Positive pay layout of {bank.name} saved",
        before=described(before) if saved else None,
        after=described(fmt),
    )
    return layout
