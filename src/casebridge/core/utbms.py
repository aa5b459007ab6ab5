"""The UTBMS expense codes (E101-E124) with their names: both sides offer them, the books
on an invoice's cost lines and LEDES files (``books.utbms``), the cases side as the cost
codes every firm starts with (``cases.services.firms``). Plain data.

Source: the American Bar Association Section of Litigation, "Uniform Task-Based
Management System: Litigation Code Set", expense codes.
"""

from __future__ import annotations

#: The expense codes.
EXPENSE_CODES: tuple[tuple[str, str], ...] = (
    ("E101", "Copying"),
    ("E102", "Outside printing"),
    ("E103", "Word processing"),
    ("E104", "Facsimile"),
    ("E105", "Telephone"),
    ("E106", "Online research"),
    ("E107", "Delivery services/messengers"),
    ("E108", "Postage"),
    ("E109", "Local travel"),
    ("E110", "Out-of-town travel"),
    ("E111", "Meals"),
    ("E112", "Court fees"),
    ("E113", "Subpoena fees"),
    ("E114", "Witness fees"),
    ("E115", "Deposition transcripts"),
    ("E116", "Trial transcripts"),
    ("E117", "Trial exhibits"),
    ("E118", "Litigation support vendors"),
    ("E119", "Experts"),
    ("E120", "Private investigators"),
    ("E121", "Arbitrators/mediators"),
    ("E122", "Local counsel"),
    ("E123", "Other professionals"),
    ("E124", "Other"),
)
