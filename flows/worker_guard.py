"""A flow-run process ends itself when its worker is gone, so no orphan keeps driving a phone."""

from __future__ import annotations

import os
import signal
import threading

_CHECK_SECONDS = 0.5


def die_with_worker() -> None:
    """When the worker dies this process is re-parented (to the launcher or init): stop at once.
    The run is then settled by whoever restarts the worker; a phone is never driven by two tasks."""
    worker = os.getppid()

    def watch() -> None:
        while os.getppid() == worker:
            threading.Event().wait(_CHECK_SECONDS)
        os.kill(os.getpid(), signal.SIGKILL)

    threading.Thread(target=watch, name="worker-guard", daemon=True).start()
