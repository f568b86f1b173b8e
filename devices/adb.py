"""Access to the adb server: which phones exist, connecting TCP phones, and opening one phone."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import adbutils
from adbutils import AdbConnection, AdbError

from devices.errors import DeviceError


@dataclass(frozen=True)
class AdbServer:
    host: str = "127.0.0.1"
    port: int = 5037

    def client(self) -> adbutils.AdbClient:
        return client_for(self)

    def describe(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True)
class PhoneInfo:
    serial: str
    state: str
    model: str


class _NoAutostartConnection(AdbConnection):
    # adbutils runs `adb start-server` on the default port when it cannot connect;
    # a missing server must surface as an error, not spawn a stray daemon.
    def _safe_connect(self):
        return self._create_socket()


class _Client(adbutils.AdbClient):
    def __init__(self, host: str, port: int, default_timeout: float | None = None):
        super().__init__(host=host, port=port)
        self.default_timeout = default_timeout

    def make_connection(self, timeout: float | None = None) -> AdbConnection:
        timeout = timeout or self.default_timeout
        try:
            connection = _NoAutostartConnection(self.host, self.port)
        except (TimeoutError, socket.timeout) as error:
            raise adbutils.AdbTimeout("connect to adb server timeout") from error
        if timeout:
            connection.conn.settimeout(timeout)
        return connection


def client_for(server: AdbServer, timeout: float | None = None) -> adbutils.AdbClient:
    return _Client(server.host, server.port, timeout)


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
    try:
        entries = client.list()
    except (AdbError, OSError) as error:
        raise DeviceError(f"adb server {server.describe()} is unreachable: {error}", transient=True) from error
    return [PhoneInfo(entry.serial, entry.state,
                      _model_or_blank(client, entry.serial, entry.state) if with_models else "")
            for entry in entries]


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
        raise DeviceError(f"could not connect phone {address}: {error}", transient=True) from error
    if "connected to" not in answer:  # also matches "already connected to"
        raise DeviceError(f"could not connect phone {address}: {answer}", transient=True)
    return answer


def disconnect_phone(server: AdbServer, address: str) -> None:
    try:
        client_for(server).disconnect(address)
    except (AdbError, OSError):
        pass  # already gone is what we wanted


def open_phone(server: AdbServer, serial: str) -> adbutils.AdbDevice:
    try:
        states = {entry.serial: entry.state for entry in client_for(server).list()}
    except (AdbError, OSError) as error:
        raise DeviceError(f"adb server {server.describe()} is unreachable: {error}", transient=True) from error
    state = states.get(serial)
    if state is None:
        raise DeviceError(f"phone {serial} is not connected", transient=True)
    if state != "device":
        raise DeviceError(f"phone {serial} is not connected (adb reports it {state})", transient=True)
    return client_for(server).device(serial)


def adb_binary() -> str:
    """The adb executable that ships inside the adbutils wheel."""
    return adbutils.adb_path()
