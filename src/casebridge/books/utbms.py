"""The UTBMS code sets an invoice line is billed under (issue 15, ADR 0054): the task codes
of the litigation code set (L110-L530), the activity codes (A101-A111) and the expense
codes (E101-E124), with their names. Plain data, no database: the services check a line's
codes against them, the models' CHECK constraints hold the same lists, the screens offer
them.

Source: the American Bar Association Section of Litigation, "Uniform Task-Based
Management System: Litigation Code Set" (americanbar.org/groups/litigation/resources/
uniform_task_based_management_system/litigation_code_set/). The phase codes (L100, L200,
L300, L400, L500, A100, E100) head groups of codes and are not billed themselves, so
they are not in the sets.
"""

from __future__ import annotations

from casebridge.core import utbms

#: The litigation code set's task codes, by phase.
TASK_CODES: tuple[tuple[str, str], ...] = (
    # L100 Case Assessment, Development and Administration
    ("L110", "Fact Investigation/Development"),
    ("L120", "Analysis/Strategy"),
    ("L130", "Experts/Consultants"),
    ("L140", "Document/File Management"),
    ("L150", "Budgeting"),
    ("L160", "Settlement/Non-Binding ADR"),
    ("L190", "Other Case Assessment, Development and Administration"),
    # L200 Pre-Trial Pleadings and Motions
    ("L210", "Pleading"),
    ("L220", "Preliminary Injunctions/Provisional Remedies"),
    ("L230", "Court Mandated Conferences"),
    ("L240", "Dispositive Motions"),
    ("L250", "Other Written Motions and Submissions"),
    ("L260", "Class Action Certification and Notice"),
    # L300 Discovery
    ("L310", "Written Discovery"),
    ("L320", "Document Production"),
    ("L330", "Depositions"),
    ("L340", "Expert Discovery"),
    ("L350", "Discovery Motions"),
    ("L390", "Other Discovery"),
    # L400 Trial Preparation and Trial
    ("L410", "Fact Witnesses"),
    ("L420", "Expert Witnesses"),
    ("L430", "Written Motions and Submissions"),
    ("L440", "Other Trial Preparation and Support"),
    ("L450", "Trial and Hearing Attendance"),
    ("L460", "Post-Trial Motions and Submissions"),
    ("L470", "Enforcement"),
    # L500 Appeal
    ("L510", "Appellate Motions and Submissions"),
    ("L520", "Appellate Briefs"),
    ("L530", "Oral Argument"),
)

#: The activity codes (one set, used with every task code set).
ACTIVITY_CODES: tuple[tuple[str, str], ...] = (
    ("A101", "Plan and prepare for"),
    ("A102", "Research"),
    ("A103", "Draft/revise"),
    ("A104", "Review/analyze"),
    ("A105", "Communicate (in firm)"),
    ("A106", "Communicate (with client)"),
    ("A107", "Communicate (other outside counsel)"),
    ("A108", "Communicate (other external)"),
    ("A109", "Appear for/attend"),
    ("A110", "Manage data/files"),
    ("A111", "Other"),
)

#: The expense codes (shared with the cases side's cost codes: ``core.utbms``).
EXPENSE_CODES: tuple[tuple[str, str], ...] = utbms.EXPENSE_CODES

#: The codes alone, in order (the models' CHECK constraints list them).
TASK: tuple[str, ...] = tuple(code for code, _ in TASK_CODES)
ACTIVITY: tuple[str, ...] = tuple(code for code, _ in ACTIVITY_CODES)
EXPENSE: tuple[str, ...] = tuple(code for code, _ in EXPENSE_CODES)
