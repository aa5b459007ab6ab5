"""Casebridge: case management and legal accounting for personal-injury law firms.

Parts (see ARCHITECTURE.md): ``core`` (money, errors, audit), ``books`` (the legal
accounting system), ``web`` (shared templates and static files).
"""
