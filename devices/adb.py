"""Access to the adb server: which phones exist, connecting TCP phones, and opening one phone."""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass

import adbutils
from adbutils import AdbConnection, AdbError

from devices.errors import AdbServerUnreachable, PhoneDisconnected


@dataclass(frozen=True)
class AdbServer:
    host: str = "127.0.0.1"
    port: int = 5037

    def describe(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PhoneInfo:
    serial: str
    state: str
    model: str


class _ConnectionWithoutAutostart(AdbConnection):
    # When it cannot connect, adbutils (2.12) runs `adb start-server`, which starts a daemon on the
    # default port whatever port was asked for; it offers no option or environment variable to turn that
    # off. A missing server must surface as an error, not spawn a stray daemon, so this one override
    # keeps only the plain socket connect that adbutils' `_safe_connect` tries first.
    def _safe_connect(self):
        return self._create_socket()

    def close(self):
        # adbutils (2.12) sleeps 10 ms between its shutdown and the close "to make sure the shutdown is
        # processed": the FIN is on its way either way, and that sleep was most of a command's 11 ms
        # (about 0.5 ms without it) on every shell call of every script.
        if self.closed:
            return
        with contextlib.suppress(OSError):
            self.conn.shutdown(socket.SHUT_WR)
        self.conn.close()
        self._AdbConnection__conn = None  # the base class's own slot: `closed` reads it


class _Client(adbutils.AdbClient):
    """An AdbClient that never starts a server; `timeout` bounds every socket read."""

    def __init__(self, server: AdbServer, timeout: float | None):
        super().__init__(host=server.host, port=server.port)
        self._timeout = timeout
        self._version: int | None = None

    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        # The base class builds a plain AdbConnection; this is its body with the connection class swapped.
        connection = _ConnectionWithoutAutostart(self.host, self.port)
        if timeout or self._timeout:
            connection.conn.settimeout(timeout or self._timeout)
        return connection

    def server_version(self) -> int:
        # adbutils asks the server's version before every command to a phone named by serial (one more
        # connection, with its 10-ms close); a server keeps its version for as long as this client lives.
        if self._version is None:
            self._version = super().server_version()
        return self._version


def client_for(server: AdbServer, timeout: float | None = None) -> adbutils.AdbClient:
    return _Client(server, timeout)


def server_alive(server: AdbServer, timeout: float = 2.0) -> bool:
    """A server that accepts but does not answer (hung) counts as down after `timeout`."""
    try:
        client_for(server, timeout).server_version()
        return True
    except (AdbError, OSError, ValueError):
        return False


def list_phones(server: AdbServer, *, with_models: bool = True) -> list[PhoneInfo]:
    """Every phone the server sees; reading models costs one shell call per phone."""
    client = client_for(server)
    return [PhoneInfo(entry.serial, entry.state,
                      _model_or_blank(client, entry.serial, entry.state) if with_models else "")
            for entry in _entries(server, client)]


def list_phones_untouched(server: AdbServer) -> list[PhoneInfo]:
    """Every phone the server sees, with the model adb read from its connection banner (`adb devices
    -l`): no command reaches a phone, so a script running on it is never disturbed."""
    client = client_for(server)
    return [PhoneInfo(entry.serial, entry.state, " ".join(entry.tags.get("model", "").replace("_", " ").split()))
            for entry in _entries(server, client, extended=True)]


def _entries(server: AdbServer, client: adbutils.AdbClient, extended: bool = False) -> list[adbutils.AdbDeviceInfo]:
    try:
        return client.list(extended=extended)
    except (AdbError, OSError) as error:
        raise AdbServerUnreachable(f"adb server {server.describe()} is unreachable: {error}") from error


def _model_or_blank(client: adbutils.AdbClient, serial: str, state: str) -> str:
    if state != "device":
        return ""
    try:
        return client.device(serial).shell(["getprop", "ro.product.model"], timeout=10).strip()
    except (AdbError, OSError):
        # One broken phone must not hide the others from the list.
        return ""


def connect_phone(server: AdbServer, address: str, timeout: float = 10) -> str:
    """`adb connect ADDRESS`; returns the server's answer, e.g. "connected to 127.0.0.1:40001"."""
    try:
        answer = client_for(server).connect(address, timeout=timeout)
    except (AdbError, OSError) as error:
        raise PhoneDisconnected(f"could not connect phone {address}: {error}") from error
    if "connected to" not in answer:  # also matches "already connected to"
        raise PhoneDisconnected(f"could not connect phone {address}: {answer}")
    return answer


def disconnect_phone(server: AdbServer, address: str) -> None:
    try:
        client_for(server).disconnect(address)
    except (AdbError, OSError):
        pass  # already gone is what we wanted


def open_phone(server: AdbServer, serial: str) -> adbutils.AdbDevice:
    """The phone as an adbutils device, once the server reports it online."""
    client = client_for(server)
    state = {entry.serial: entry.state for entry in _entries(server, client)}.get(serial)
    if state is None:
        raise PhoneDisconnected(f"phone {serial} is not connected")
    if state != "device":
        raise PhoneDisconnected(f"phone {serial} is not connected (adb reports it {state})")
    return client.device(serial)


def adb_binary() -> str:
    """The adb executable that ships inside the adbutils wheel."""
    return adbutils.adb_path()
