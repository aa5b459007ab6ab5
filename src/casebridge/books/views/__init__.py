"""The books' server-rendered screens (Django templates + htmx), one module per area.

Views parse input with :mod:`casebridge.books.forms`, call the services (the authority on
every rule) and show their refusals next to the field they name. Every object is looked up
within the signed-in user's firm; writes are POST-only and CSRF-protected.
"""
