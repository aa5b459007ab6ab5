"""Reads for printing checks (issue 11, "Checks out"): which numbers a bank account has
used, and the printed checks a PDF is drawn from, as plain data.

A check number is used once per bank account, whether a check carries it now or it was
printed on paper that was spoiled (:class:`~casebridge.books.models.SpoiledCheckNumber`).
The services number checks from ``BankAccount.next_check_number`` and skip only such
numbers, under the bank account's counter lock (ADR 0012).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from casebridge.books.errors import Conflict, NotFound, ValidationFailed
from casebridge.books.models import BankAccount, Check, CheckStatus, Firm, SpoiledCheckNumber

#: The most checks one PDF (or one print batch) takes.
MAX_CHECKS_PER_PDF = 500
#: The highest check number (the bank account's next number, one above, must still fit a
#: 32-bit integer column).
MAX_CHECK_NUMBER = 2_147_483_646


def check_numbers_taken(bank: BankAccount, low: int, high: int) -> set[int]:
    """The numbers in ``[low, high)`` that the bank account has used: on a check, or
    spoiled (two indexed range reads)."""
    on_checks = Check.objects.filter(
        bank_account=bank, check_number__gte=low, check_number__lt=high
    ).values_list("check_number", flat=True)
    spoiled = SpoiledCheckNumber.objects.filter(
        bank_account=bank, number__gte=low, number__lt=high
    ).values_list("number", flat=True)
    return {n for n in on_checks if n is not None} | set(spoiled)


def check_number_taken(bank: BankAccount, number: int) -> bool:
    return bool(check_numbers_taken(bank, number, number + 1))


def next_free_check_numbers(bank: BankAccount, count: int) -> list[int]:
    """The bank account's next ``count`` numbers: from ``next_check_number`` on, skipping
    only numbers already used (consecutive unless a number on the way is taken)."""
    numbers: list[int] = []
    low = bank.next_check_number
    while len(numbers) < count:
        high = low + (count - len(numbers)) + 64
        taken = check_numbers_taken(bank, low, high)
        numbers += [n for n in range(low, high) if n not in taken][: count - len(numbers)]
        low = high
    return numbers


@dataclass(frozen=True)
class PrintableCheck:
    """Everything a printed check shows, as plain data (no ORM object crosses to the PDF).
    ``routing_number`` and ``account_number`` are blank when the bank account has none
    (the check then prints with no MICR line)."""

    check_id: int
    check_number: int
    printed_on: dt.date
    payee: str
    amount_cents: int
    memo: str
    firm_name: str
    bank_account_name: str
    bank_name: str
    routing_number: str
    account_number: str
    is_trust: bool
    file_number: str
    file_name: str
    request_date: dt.date

    @property
    def has_micr(self) -> bool:
        return bool(self.routing_number and self.account_number)


def printed_checks_for_pdf(*, firm: Firm, check_ids: Sequence[int]) -> list[PrintableCheck]:
    """The firm's printed checks ``check_ids``, in that order, for the PDF. Refused when
    the list is empty or too long (:class:`ValidationFailed` on ``ids``), when an id is
    not a check of the firm (:class:`NotFound`, never telling another firm's check from
    none) or when a check is not printed (:class:`Conflict`: a queued check has no number
    yet, a voided one is not paid)."""
    ids = list(check_ids)
    if not ids:
        raise ValidationFailed("ids: name at least one printed check", field="ids")
    if len(ids) > MAX_CHECKS_PER_PDF:
        raise ValidationFailed(
            f"ids: at most {MAX_CHECKS_PER_PDF} checks in one PDF, not {len(ids)}", field="ids"
        )
    found = {
        c.pk: c
        for c in Check.objects.filter(firm=firm, pk__in=ids).select_related(
            "bank_account", "file", "firm"
        )
    }
    rows = []
    for i, pk in enumerate(ids):
        check = found.get(pk)
        if check is None:
            raise NotFound(f"ids: check {pk} not found", field="ids", id=pk, index=i)
        if check.status != CheckStatus.PRINTED:
            raise Conflict(
                f"ids: check {pk} is {check.status}: only a printed check has a number to "
                "print (print the queued ones first; a voided check is not paid)",
                field="ids",
                id=pk,
                index=i,
            )
        assert check.check_number is not None  # printed (a CHECK)
        assert check.printed_on is not None
        bank = check.bank_account
        rows.append(
            PrintableCheck(
                check_id=check.pk,
                check_number=check.check_number,
                printed_on=check.printed_on,
                payee=check.payee,
                amount_cents=check.amount_cents,
                memo=check.memo,
                firm_name=check.firm.name,
                bank_account_name=bank.name,
                bank_name=bank.bank_name,
                routing_number=bank.routing_number,
                account_number=bank.account_number,
                is_trust=bank.trust_liability_account_id is not None,
                file_number=check.file.number if check.file else "",
                file_name=check.file.name if check.file else "",
                request_date=check.request_date,
            )
        )
    return rows
