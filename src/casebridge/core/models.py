"""The append-only audit log shared by the books and the cases side.

Each side writes its own events (``system`` = "books" or "cases") scoped to its own firm
id. Rows are never updated or deleted: database triggers refuse it on SQLite and
PostgreSQL (migration 0002), so not even a bug or a shell session can rewrite history.
"""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class AuditEvent(models.Model):
    system = models.CharField(max_length=16)
    firm_id = models.BigIntegerField()
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=64)  # create, change, void, login, login_failed...
    entity_type = models.CharField(max_length=64)
    entity_id = models.CharField(max_length=64, blank=True)
    summary = models.CharField(max_length=500, blank=True)
    before = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    after = models.JSONField(null=True, blank=True, encoder=DjangoJSONEncoder)
    ip_address = models.CharField(max_length=64, blank=True)
    at = models.DateTimeField(db_index=True)

    class Meta:
        indexes = [
            models.Index(fields=["system", "firm_id", "-at"], name="audit_firm_at"),
            models.Index(
                fields=["system", "firm_id", "entity_type", "entity_id"], name="audit_entity"
            ),
            # A case's events by their summary's "Case <number>: " prefix (the cases side's
            # Activity tab, ADR 0039): on PostgreSQL the pattern opclass lets LIKE 'prefix%'
            # read a range of it (Django's startswith); elsewhere a plain index.
            models.Index(
                fields=["system", "firm_id", "summary"],
                name="audit_summary_prefix",
                opclasses=["", "", "varchar_pattern_ops"],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.entity_type}"


class IdempotencyRecordBase(models.Model):
    """The columns of each side's idempotency record (ADR 0004): a creating API request's
    key, body hash and response, stored in the same transaction as its effects, so a
    repeat replays the response and writes nothing. Each side adds its own ``firm`` and
    the unique (firm, scope, key) constraint."""

    key = models.CharField(max_length=200)
    scope = models.CharField(max_length=120)  # method + route
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.JSONField()
    created_at = models.DateTimeField()

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"


class PeriodicLease(models.Model):
    """One scheduled period of one periodic job, taken by the first worker to insert it
    (casebridge.core.periodic): every other worker that runs the job for the same period
    finds the row there and skips it. Kept a week, then deleted by the job's next run."""

    task = models.CharField(max_length=200)  # module.function of the job
    period = models.DateTimeField()  # the minute the schedule fired for this run (UTC)
    worker = models.CharField(max_length=200)  # the machine and process that ran it
    token = models.CharField(max_length=32)  # this run's own mark (uuid4 hex)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["task", "period"], name="periodic_lease_once"),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.period:%Y-%m-%d %H:%M} {self.worker}"
