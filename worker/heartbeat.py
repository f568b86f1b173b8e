"""The worker's heartbeat: a file touched on every round of its event loop, which its launcher watches."""

from __future__ import annotations

import asyncio
from pathlib import Path

BEAT_SECONDS = 1.0
# Older than this, the worker's event loop has stopped turning (the launcher's hung limit comes on top).
FRESH_SECONDS = 5.0


async def beat_forever(path: Path, seconds: float = BEAT_SECONDS) -> None:
    complained = False
    while True:
        try:
            path.touch()
        except OSError as error:  # a full disk: the launcher restarts a worker it cannot hear, so say why
            if not complained:
                print(f"could not touch the heartbeat file {path}: {error}", flush=True)
            complained = True
        await asyncio.sleep(seconds)
