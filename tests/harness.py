"""Test harness: the real adb server from the adbutils wheel on a private port, simulated phones behind it."""

from __future__ import annotations

import contextlib
import errno
import os
import random
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from adbutils import adb_path

from devices.adb import AdbServer, server_alive
from simulator.farm import SimulatedFarm


# Below Linux's ephemeral range (32768-60999): a port handed out here may be bound seconds later (a
# service binds its API after Prefect started), and an outgoing connection must not take it meanwhile.
# Under pytest-xdist each worker process takes its own slice of it.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
_SLICE = (32768 - 20000) // _WORKERS
_PORTS = range(20000 + _WORKER * _SLICE, 20000 + (_WORKER + 1) * _SLICE)
_handed_out: set[int] = set()
_pick = random.Random(os.getpid())


def free_port() -> int:
    """A loopback port nothing listens on, never handed out before in this process."""
    while True:
        port = _pick.choice(_PORTS)
        if port in _handed_out:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


@dataclass
class AdbServerHandle:
    """A running `adb nodaemon server`; stop() kills it and waits for it to exit."""

    server: AdbServer
    process: subprocess.Popen
    home: Path
    log_path: Path

    def log(self) -> str:
        """What the server wrote to stderr (it logs there when run with nodaemon)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def __enter__(self) -> "AdbServerHandle":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _adb_environment(home: Path, port: int) -> dict[str, str]:
    # Built from scratch (not copied from os.environ) so the server cannot pick up a
    # developer's real ~/.android keys, USB phones or mDNS-advertised devices.
    return {"HOME": str(home), "PATH": "/usr/bin:/bin", "ADB_MDNS": "0", "ADB_LIBUSB": "0",
            "ANDROID_ADB_SERVER_PORT": str(port), "TMPDIR": str(home)}


def start_adb_server(tmp_dir: str | os.PathLike, *, ready_timeout: float = 10) -> AdbServerHandle:
    """Start the real adb server on a free port with its own HOME; fails loudly if it never answers."""
    home = Path(tmp_dir) / "adb-home"
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log_path = home / f"adb-server-{port}.log"
    # Logs go to a file, not a pipe: an unread pipe would fill up and stall the server.
    with log_path.open("wb") as log_file:
        process = subprocess.Popen([adb_path(), "-P", str(port), "nodaemon", "server"],
                                   env=_adb_environment(home, port), stdin=subprocess.DEVNULL,
                                   stdout=log_file, stderr=subprocess.STDOUT)
    handle = AdbServerHandle(AdbServer("127.0.0.1", port), process, home, log_path)
    try:
        if until(lambda: "up" if server_alive(handle.server) else process.poll() is not None and "exited",
                 ready_timeout, "the adb server", interval=0.02) == "up":
            return handle
    except AssertionError:
        pass
    handle.stop()
    raise RuntimeError(f"adb server on port {port} did not answer host:version within {ready_timeout}s "
                       f"(exit code {process.returncode}); its log:\n{handle.log()}")


@contextlib.contextmanager
def running_farm(server: AdbServer, count: int, **options) -> Iterator[SimulatedFarm]:
    farm = SimulatedFarm(server, count, **options)
    try:
        yield farm
    finally:
        farm.stop()


@contextlib.contextmanager
def small_disk(path: Path, size_mb: int) -> Iterator[Path]:
    """A tmpfs of `size_mb` on `path`, a disk a test can fill (the suite runs as root, as CI does)."""
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "--lazy", str(path)], check=False)


def fill_disk(path: Path) -> Path:
    """Write a file under `path` until its disk has no room left; delete it to give the room back."""
    filler = path / "filler"
    chunk = bytes(2**20)
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    return filler


@contextlib.contextmanager
def room_left(path: Path, kb: int) -> Iterator[None]:
    """The disk under `path` filled but for `kb` KB, until the block ends."""
    filler = fill_disk(path)
    os.truncate(filler, filler.stat().st_size - kb * 1024)
    try:
        yield
    finally:
        filler.unlink()


def until(condition, timeout: float = 15, what="condition", *, interval: float = 0.1, accept=None):
    """condition()'s first true value, asked every `interval` s; fails after `timeout` seconds.

    With `accept`, condition() reads a value and the first value accept() holds true of is returned;
    the failure then shows the last value read. `what` names what is waited for, or is a function
    that makes the failure's whole message from the last value read."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if accept(value) if accept else value:
            return value
        if time.monotonic() >= deadline:
            if callable(what):
                raise AssertionError(what(value))
            raise AssertionError(f"{what} not met within {timeout} s" + (f": {value!r}" if accept else ""))
        time.sleep(interval)
