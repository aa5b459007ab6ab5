"""The books' HTTP API (django-ninja): ``/books/api/v1/``, OpenAPI at ``openapi.json``."""
