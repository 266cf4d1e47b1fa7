"""Worker processes that end with their parent, however the parent ends."""

from __future__ import annotations

import os
import signal
import threading
import time

PARENT_CHECK_SECONDS = 0.5


def follow_parent(parent: int) -> None:
    """Run in each worker as it starts. The parent stops the run (Ctrl-C, SIGTERM) and shuts its
    workers down, so a worker ignores those signals; if the parent dies without shutting them
    down (kill -9), the worker is re-parented and ends itself within a second instead of idling on."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
