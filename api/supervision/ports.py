"""What Linux says about a local TCP port another socket holds: its connections in TIME_WAIT, the ephemeral range."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

PROC_NET = Path("/proc/net")
_TIME_WAIT = "06"


def ephemeral_range(proc_sys: Path = Path("/proc/sys")) -> Optional[tuple[int, int]]:
    """The ports the kernel lends to clients that connect without choosing one."""
    try:
        low, high = (proc_sys / "net" / "ipv4" / "ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return None


def connections_in_time_wait(port: int, proc_net: Path = PROC_NET) -> int:
    """Closed connections whose local end is `port`, still in TIME_WAIT (about a minute on Linux)."""
    count = 0
    for table in ("tcp", "tcp6"):
        try:
            lines = (proc_net / table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 3 and fields[3] == _TIME_WAIT and int(fields[1].rsplit(":", 1)[1], 16) == port:
                count += 1
    return count


def why_taken(port: int) -> str:
    """An explanation to add when a bind fails, if the kernel's own tables give one."""
    waiting = connections_in_time_wait(port)
    if not waiting:
        return ""
    lent = ephemeral_range()
    where = f" (Linux lends ports {lent[0]}-{lent[1]} to clients)" if lent and lent[0] <= port <= lent[1] else ""
    return (f"; {waiting} closed connection(s) of a client on this machine hold it in TIME_WAIT{where}:"
            " wait a minute, or choose a port outside that range")
