"""How long phones stand idle between queued tasks (their own logcat markers), and the Prefect server's CPU time."""

from __future__ import annotations

import os
import re
import statistics
from pathlib import Path
from typing import Iterable

import adbutils

from api.supervision.procfs import descendants
from bench.farm import Farm, command_line, process_tree

# devices/runner.py brackets every task with `log -t phonefarm "task N start"` and `"task N end"`.
MARKER = re.compile(r"^\s*(\d+\.\d+)\s.*\sphonefarm\s*: task (\d+) (start|end)\s*$")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def phone_intervals(logcat: str) -> dict[int, tuple[float, float]]:
    """task id -> (start, end) in epoch seconds, from `logcat -v epoch` lines; unended tasks left out."""
    starts: dict[int, float] = {}
    ended: dict[int, tuple[float, float]] = {}
    for line in logcat.splitlines():
        match = MARKER.match(line)
        if not match:
            continue
        moment, task_id = float(match.group(1)), int(match.group(2))
        if match.group(3) == "start":
            starts[task_id] = moment
        elif task_id in starts:
            ended[task_id] = (starts.pop(task_id), moment)
    return ended


def idle_gaps(intervals: dict[int, tuple[float, float]], task_ids: set[int]) -> list[float]:
    """Seconds from each of these tasks' end to the start of the next of them on the same phone."""
    ordered = sorted(interval for task_id, interval in intervals.items() if task_id in task_ids)
    return [following[0] - previous[1] for previous, following in zip(ordered, ordered[1:])]


def read_markers(farm: Farm, serial: str) -> str:
    """The phone's own log of task markers, the adb way: `adb shell logcat -d -s phonefarm`."""
    device = adbutils.AdbClient(host="127.0.0.1", port=farm.adb.server.port).device(serial)
    return device.shell("logcat -d -v epoch -s phonefarm", timeout=30)


def phone_idle(farm: Farm, serials: Iterable[str], task_ids: set[int]) -> dict:
    """Median, p95 and max over every phone of the idle time between two of these tasks."""
    gaps = [gap for serial in serials for gap in idle_gaps(phone_intervals(read_markers(farm, serial)), task_ids)]
    if not gaps:
        return {"n": 0}
    ordered = sorted(gaps)
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(ordered), "median_s": round(statistics.median(ordered), 2), "p95_s": round(p95, 2),
            "max_s": round(ordered[-1], 2)}


def prefect_server_cpu_seconds(farm: Farm) -> float:
    """User and system CPU time of the Prefect server's processes (and its children's, reaped or not)."""
    tree = process_tree(farm.service.pid)
    servers = [pid for pid in tree if "server start" in command_line(pid)]
    total_ticks = 0
    for pid in {p for server in servers for p in (server, *descendants(server))}:
        total_ticks += cpu_ticks(pid)
    return total_ticks / TICKS_PER_SECOND


def cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of /proc/PID/stat (fields 14-17; the name may hold spaces)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0
    return sum(int(value) for value in fields[11:15])
