"""The forkserver's entry: the last module of its preload, run once before it forks any flow run."""

from __future__ import annotations

from devices.selectors import load_selectors
from worker import forked_run, prefect_compat  # noqa: F401  (forked_run: what every fork runs)

# A forkserver runs nothing but its preload's imports: this is its one start-up step. The patches
# (shared TLS context, no suspension observer, no heartbeat thread) are then inherited by every fork.
prefect_compat.install()

# The apps' selector files, validated once here (a wrong file stops the worker at start with its line)
# and inherited by every fork instead of parsed again by each run.
for app in ("tiktok", "instagram"):
    load_selectors(app)
