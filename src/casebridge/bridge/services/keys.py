"""Key rotation for what the bridge keeps encrypted (``crypto``): the books token of each
connection, and the password a queued sign-in carries (ADR 0008).

To rotate: put a new Fernet key first in ``CASEBRIDGE_BRIDGE_KEYS`` (keep the old ones
after it), restart the web and worker processes, run ``manage.py rotate_keys``, then drop
the old keys and restart again (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from casebridge.bridge.crypto import TokenUnreadable, encrypted_with_first_key, rotate_ciphertext
from casebridge.bridge.models import BooksJob, Connection, RunState


@dataclass
class Rotation:
    tokens: int = 0
    secrets: int = 0
    current: int = 0
    #: Firm codes whose token no key can read (the connection must re-authenticate).
    unreadable: list[str] = field(default_factory=list)


def secrets_rotate(*, dry_run: bool = False) -> Rotation:
    """Re-encrypt every stored books token and queued sign-in password with the first key.
    Each row is written with a guarded UPDATE (only if its ciphertext is still the one
    read), so a re-authentication meanwhile is never overwritten with an older token."""
    done = Rotation()
    for pk, code, ciphertext in (
        Connection.objects.exclude(token_ciphertext="")
        .order_by("pk")
        .values_list("pk", "firm__code", "token_ciphertext")
    ):
        if encrypted_with_first_key(ciphertext):
            done.current += 1
            continue
        try:
            rotated = rotate_ciphertext(ciphertext)
        except TokenUnreadable:
            done.unreadable.append(code)
            continue
        if dry_run or Connection.objects.filter(pk=pk, token_ciphertext=ciphertext).update(
            token_ciphertext=rotated
        ):
            done.tokens += 1
    for pk, ciphertext in (
        BooksJob.objects.filter(state=RunState.QUEUED)
        .exclude(secret_ciphertext="")
        .order_by("pk")
        .values_list("pk", "secret_ciphertext")
    ):
        if encrypted_with_first_key(ciphertext):
            done.current += 1
            continue
        try:
            rotated = rotate_ciphertext(ciphertext)
        except TokenUnreadable:
            continue  # expires with its job within minutes; the user types it again
        if dry_run or BooksJob.objects.filter(
            pk=pk, state=RunState.QUEUED, secret_ciphertext=ciphertext
        ).update(secret_ciphertext=rotated):
            done.secrets += 1
    return done
