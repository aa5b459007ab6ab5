"""Shared web layer: the base template, static files (htmx) and template filters."""
