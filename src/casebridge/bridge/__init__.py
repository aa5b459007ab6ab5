"""The bridge: connects case management to the books over the books' HTTP API (issue 4).

It reads the cases side's models and calls its services; it reaches the books only
through :mod:`casebridge.bridge.client` (a Protocol and its HTTP implementation), exactly as
it would reach another vendor's accounting system.
"""
