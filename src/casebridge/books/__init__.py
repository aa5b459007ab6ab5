"""The books: a legal accounting system (double-entry ledger, trust sub-ledgers, checks,
invoices) with its own users, HTTP API and settings screens. Modelled on Soluno.

It knows nothing of the cases side or the bridge; they reach it only through its API.
"""
