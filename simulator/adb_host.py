"""The adb server seen from the simulator's side: adopting phones with `adb connect`, listing them."""

from __future__ import annotations

from dataclasses import dataclass

import adbutils
from adbutils import AdbConnection, AdbError


class SimulatorError(Exception):
    """A simulator failure with a sentence an operator can act on."""

    def __init__(self, remark: str):
        super().__init__(remark)
        self.remark = remark


@dataclass(frozen=True)
class AdbServer:
    """Where the adb server listens; any object with `host` and `port` does as well."""

    host: str = "127.0.0.1"
    port: int = 5037


class _ConnectionWithoutAutostart(AdbConnection):
    # adbutils runs `adb start-server` when it cannot connect, on the default port whatever port was
    # asked for: a missing server must surface as an error instead.
    def _safe_connect(self):
        return self._create_socket()


class _Client(adbutils.AdbClient):
    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        connection = _ConnectionWithoutAutostart(self.host, self.port)
        if timeout:
            connection.conn.settimeout(timeout)
        return connection


def _client(server) -> adbutils.AdbClient:
    return _Client(host=server.host, port=server.port)


def states(server) -> dict[str, str]:
    """serial -> state of every phone the server sees."""
    return {entry.serial: entry.state for entry in _client(server).list()}


def connect(server, address: str, timeout: float = 10) -> None:
    try:
        answer = _client(server).connect(address, timeout=timeout)
    except (AdbError, OSError) as error:
        raise SimulatorError(f"could not connect phone {address}: {error}") from error
    if "connected to" not in answer:  # also matches "already connected to"
        raise SimulatorError(f"could not connect phone {address}: {answer}")


def disconnect(server, address: str) -> None:
    try:
        _client(server).disconnect(address)
    except (AdbError, OSError):
        pass  # already gone is what was wanted
