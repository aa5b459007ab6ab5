"""The bridge's HTTP API (django-ninja): ``/cases/api/v1/integrations/books/``, OpenAPI at
``openapi.json``; assembled in :mod:`.router`, one module per resource.
"""
