"""What a long-running process (a gunicorn worker, a Huey worker) does once it has started:
the objects its start-up made are set aside from the garbage collector.

Start-up makes about 230,000 objects that live as long as the process (modules, classes,
models, the URLconf and every API schema django-ninja and pydantic build). A full
collection walks every tracked object, and a batch request or a delivery pass of hundreds
of documents allocates enough to trigger about one; with start-up's objects in the walk it
took 0.1-0.5 s on the 2-core development machine, a quarter to a half of a 500-receipt
batch (issue 12). Frozen (:func:`gc.freeze`), they are never walked again, and a full
collection walks only what requests made since."""

from __future__ import annotations

import gc
import threading

_frozen = False
_lock = threading.Lock()


def start_up_objects_frozen() -> None:
    """Collect once, then freeze every object left: call when start-up is over. Once a
    process: Huey runs its start-up hook in each worker thread, and a second thread's
    freeze would keep for ever the objects of a task the first was already running."""
    global _frozen
    with _lock:
        if _frozen:
            return
        _frozen = True
        gc.collect()
        gc.freeze()
