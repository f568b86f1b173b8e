"""The one contract between the API and the flow: names of the pool, deployment, queues, tags, runs
and the flow's parameters. Both sides import it; neither spells these names anywhere else."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Optional

WORK_POOL = "phone-farm"  # also named in prefect.yaml
FLOW_NAME = "run-task"
DEPLOYMENT = f"{FLOW_NAME}/phone-task"  # also named in prefect.yaml
# Paused: a run started from the Prefect UI waits here until the API moves it to its phone's queue.
INBOX_QUEUE = "ui-inbox"

FARM_TAG = "phonefarm"
AUTO_RETRIES_TAG = "auto-retries"
SERIAL_TAG = "serial"
SCRIPT_TAG = "script"
SOURCE_TAG = "source"


@dataclass(frozen=True)
class TaskParameters:
    """The parameters of a `run-task` flow run, exactly as the flow function takes them."""

    serial: str
    script_name: str
    script_config: dict
    username: Optional[str] = None
    task_id: Optional[int] = None
    platform: str = "tiktok"

    def as_dict(self) -> dict:
        return asdict(self)


def device_queue(serial: str) -> str:
    """Every phone's work queue (concurrency limit 1): Prefect never runs two tasks on it at once."""
    return f"device-{serial}"


def run_name(task_id: int, script_name: str) -> str:
    """Zero-padded so that Prefect's name order is the task order (newest first = NAME_DESC)."""
    return f"task-{task_id:010d}-{script_name}"


def tag(key: str, value: object) -> str:
    return f"{key}:{value}"


def task_tags(serial: str, script_name: str, source: str) -> list[str]:
    """The tags every task's run carries, so listings filter on them in Prefect and in the UI."""
    return [FARM_TAG, tag(SERIAL_TAG, serial), tag(SCRIPT_TAG, script_name), tag(SOURCE_TAG, source)]


def tag_value(tags: list[str], key: str) -> Optional[str]:
    prefix = f"{key}:"
    for each in tags:
        if each.startswith(prefix):
            return each[len(prefix):]
    return None


# Reading which accounts are logged in on a phone drives its screens, so it is a flow run in the
# phone's queue like a task (but not a task: the API never lists it).
ACCOUNTS_FLOW_NAME = "read-accounts"
ACCOUNTS_DEPLOYMENT = f"{ACCOUNTS_FLOW_NAME}/phone-accounts"  # also named in prefect.yaml
RECORDED_TAG = "accounts-recorded"


def accounts_artifact_rows(accounts: list[tuple[str, str]]) -> list[dict]:
    """The table a read-accounts run leaves: one row per (platform, username)."""
    return [{"platform": platform, "username": username} for platform, username in accounts]


# A task that met a screen that blocks its account ends Failed under one of these state names (the
# remark says what the app showed); the API marks the task's account from the name.
ACCOUNT_MARK_STATE_NAMES = {
    "banned": "AccountBanned",
    "needs_attention": "AccountNeedsAttention",
    "rate_limited": "AccountRateLimited",
}
