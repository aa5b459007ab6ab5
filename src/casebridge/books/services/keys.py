"""Key rotation for what the books keep encrypted with the data key
(:data:`casebridge.books.crypto.ENCRYPTED_COLUMNS`).

To rotate: put a new Fernet key first in ``CASEBRIDGE_DATA_KEYS`` (keep the old ones after
it), restart the web and worker processes, run ``manage.py rotate_keys``, then drop the old
keys and restart again (docs/operations.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps

from casebridge.books.crypto import DATA_KEYS, ENCRYPTED_COLUMNS, Unreadable


@dataclass
class DataRotation:
    rotated: int = 0
    current: int = 0
    #: "model.field #id" of each value no key reads (a lost key: type it again).
    unreadable: list[str] = field(default_factory=list)


def data_rotate(*, dry_run: bool = False) -> DataRotation:
    """Re-encrypt every value of every encrypted column with the first key, each row by a
    guarded UPDATE (only if its ciphertext is still the one read), so a value changed
    meanwhile is never overwritten with an older one."""
    done = DataRotation()
    for app_label, model_name, column in ENCRYPTED_COLUMNS:
        model = apps.get_model(app_label, model_name)
        rows = model._default_manager.exclude(**{column: ""}).order_by("pk")
        for pk, ciphertext in rows.values_list("pk", column).iterator(chunk_size=500):
            if DATA_KEYS.uses_first_key(ciphertext):
                done.current += 1
                continue
            try:
                rotated = DATA_KEYS.rotate(ciphertext)
            except Unreadable:
                done.unreadable.append(f"{model_name}.{column} #{pk}")
                continue
            if dry_run or model._default_manager.filter(pk=pk, **{column: ciphertext}).update(
                **{column: rotated}
            ):
                done.rotated += 1
    return done
