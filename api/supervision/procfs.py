"""What Linux's /proc says about processes: parents, state, command line, environment, memory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

PROC = Path("/proc")


def pids() -> list[int]:
    return [int(entry.name) for entry in PROC.iterdir() if entry.name.isdigit()]


def _stat_fields(pid: int) -> Optional[list[str]]:
    """The fields of /proc/PID/stat after the command name (which may hold spaces and parentheses)."""
    try:
        return (PROC / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def parent_of(pid: int) -> Optional[int]:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields else None


def alive(pid: int) -> bool:
    """Running, not a zombie waiting to be reaped."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def start_ticks(pid: int) -> Optional[str]:
    """The process start time in clock ticks: tells a live process from a reused pid."""
    fields = _stat_fields(pid)
    return fields[19] if fields else None


def argv_of(pid: int) -> list[bytes]:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().split(b"\0")
    except OSError:
        return []


def rss_mb(pid: int) -> float:
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def private_mb(pid: int) -> float:
    """Memory only this process holds (a forked run shares the rest with its forkserver)."""
    try:
        lines = (PROC / str(pid) / "smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in lines if line.startswith(("Private_Clean:", "Private_Dirty:"))) / 1024


def pss_mb(pid: int) -> float:
    """Its proportional share: private memory plus each shared page divided by the processes sharing it."""
    try:
        lines = (PROC / str(pid) / "smaps_rollup").read_text().splitlines()
    except OSError:
        return 0.0
    return sum(int(line.split()[1]) for line in lines if line.startswith("Pss:")) / 1024


def children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for pid in pids():
        parent = parent_of(pid)
        if parent is not None:
            children.setdefault(parent, []).append(pid)
    return children


def direct_children(parent: int) -> list[int]:
    return children_by_parent().get(parent, [])


def descendants(root: int) -> list[int]:
    """Every living process below `root`."""
    children = children_by_parent()
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def processes_marked(marker: str) -> list[int]:
    """Processes whose environment holds `marker` (e.g. PHONEFARM_INSTANCE=<dir>), this one aside."""
    wanted = marker.encode()
    found = []
    for pid in pids():
        if pid == os.getpid():
            continue
        try:
            if wanted in (PROC / str(pid) / "environ").read_bytes().split(b"\0"):
                found.append(pid)
        except OSError:
            continue
    return found
