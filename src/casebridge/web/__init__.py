"""Shared web layer: the base template, static files (htmx), template filters, and the
pop-up kit both sides' screens are built on (popups.py: MoneyField, refusals next to the
right field, popup_form; paging.py: one page size; templates/web/_*.html: the partials)."""
