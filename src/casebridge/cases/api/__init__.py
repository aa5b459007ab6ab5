"""The cases side's HTTP API (django-ninja): ``/cases/api/v1/``."""
