"""Find the service's processes in /proc, so tests can kill one the way a crash would."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from api.supervision.procfs import alive, argv_of, descendants, pids, processes_marked
from devices.phone_lock import lock_path

__all__ = ["alive", "argv_of", "descendants", "find", "holding", "listening_addresses", "phone_holder",
           "processes_marked"]


def find(words: Iterable[bytes], among: Iterable[int] | None = None) -> int:
    """The one process whose argv holds every word (e.g. b"worker", b"start")."""
    words = list(words)
    matches = [pid for pid in (pids() if among is None else among) if all(w in argv_of(pid) for w in words)]
    assert len(matches) == 1, f"expected one process with {words}, found {matches}"
    return matches[0]


def open_files(pid: int) -> list[str]:
    """What each of the process's file descriptors points to (a path, or e.g. "socket:[123]")."""
    try:
        fds = list((Path("/proc") / str(pid) / "fd").iterdir())
    except OSError:
        return []
    targets = []
    for fd in fds:
        try:
            targets.append(str(fd.readlink()))
        except OSError:
            continue
    return targets


def holding(path: Path) -> list[int]:
    """Processes that have `path` open: the flow-run process that holds a phone's lock drives it."""
    wanted = str(Path(path).resolve())
    return [pid for pid in pids() if wanted in open_files(pid)]


def phone_holder(data_dir: Path, serial: str) -> list[int]:
    return holding(lock_path(Path(data_dir).resolve() / "phone-locks", serial))


def listening_addresses(pids_: Iterable[int]) -> dict[int, set[str]]:
    """TCP addresses each process listens on, from /proc/net/tcp{,6} and the process's sockets."""
    listening: dict[str, str] = {}  # socket inode -> "address:port"
    for table, width in (("tcp", 8), ("tcp6", 32)):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] != "0A":  # LISTEN
                continue
            address, port = fields[1].split(":")
            raw = bytes.fromhex(address)
            # The kernel prints each 32-bit word in host (little-endian) order.
            words = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            host = ".".join(str(b) for b in words) if width == 8 else words.hex()
            listening[fields[9]] = f"{host}:{int(port, 16)}"
    found: dict[int, set[str]] = {}
    for pid in pids_:
        for target in open_files(pid):
            if target.startswith("socket:[") and target[8:-1] in listening:
                found.setdefault(pid, set()).add(listening[target[8:-1]])
    return found
