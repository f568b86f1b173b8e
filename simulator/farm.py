"""A set of simulated phones, each on its own loopback port, adopted by a real adb server."""

from __future__ import annotations

import itertools
import socket
import threading
import time

from adbutils import AdbError

from simulator.adb_host import SimulatorError, connect, disconnect, states
from simulator.interruptions import DEFAULT_SEED
from simulator.phone import QUIRKS, SimulatedPhone
from simulator.versions import DEFAULT as DEFAULT_VERSION
from simulator.protocol import DeviceConnection
from simulator.services import open_service

# The adb server probes these ports for emulators on its own; a phone there would be adopted twice.
_EMULATOR_PORTS = range(5553, 5587)


class _PhoneEndpoint:
    """The listening socket of one phone and the threads serving the adb server's connections."""

    def __init__(self, phone: SimulatedPhone, port: int | None = None):
        self.phone = phone
        self._listener = _listen_on_free_port() if port is None else _listen_on(port)
        self.port = self._listener.getsockname()[1]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept_loop, daemon=True,
                                        name=f"sim-phone-{self.port}")
        self._thread.start()

    @property
    def serial(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                sock, _address = self._listener.accept()
            except OSError:
                return
            if not self.phone.attach(sock):
                sock.close()  # cable is out: the host sees the connection refused at once
                continue
            threading.Thread(target=self._serve, args=(sock,), daemon=True,
                             name=f"sim-conn-{self.port}").start()

    def _serve(self, sock: socket.socket) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = DeviceConnection(
            sock, self.phone.banner(),
            lambda destination: open_service(destination, self.phone.run_shell, self.phone.fs))
        try:
            connection.serve()
        finally:
            self.phone.detach(sock)

    def close(self) -> None:
        self._stopped.set()
        try:
            # Closing alone leaves the socket listening while the accept thread is blocked in it
            # (Linux): the port stays taken until the process exits. Shutting it down wakes accept.
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self._listener.close()
        except OSError:
            pass
        self.phone.unplug(seconds=float("inf"))


def _listen_on(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a restart right after a crash
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as error:
        listener.close()
        raise SimulatorError(f"simulated phone port 127.0.0.1:{port} is not free ({error.strerror})") from None
    listener.listen(8)
    return listener


def _listen_on_free_port() -> socket.socket:
    while True:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        if listener.getsockname()[1] not in _EMULATOR_PORTS:
            listener.listen(8)
            return listener
        listener.close()


class SimulatedFarm:
    """Starts `count` phones and connects them; `phones` maps adb serial -> SimulatedPhone."""

    def __init__(self, adb, count: int, *, serial_prefix: str = "sim", auto_reconnect: bool = False,
                 first_port: int | None = None, locale: str = "en", interruption_rate: float = 0.0,
                 seed: int = DEFAULT_SEED, app_version: str = DEFAULT_VERSION, quirks: dict | None = None):
        """With `first_port`, phone i listens on first_port + i: its serial survives a restart, like a
        real phone's; without, on any free port. New phones get the locale, the interruption rate and seed,
        the app version and the quirks (SimulatedPhone attributes: video_blocks_dumps, first_dump_seconds...)."""
        self._phone_options = (locale, interruption_rate, seed, app_version, dict(quirks or {}))
        self.adb = adb
        self._first_port = first_port
        self._serial_prefix = serial_prefix
        self._names = itertools.count(1)
        self._endpoints: dict[str, _PhoneEndpoint] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        try:
            for number in range(count):
                self.add_phone(port=None if first_port is None else first_port + number)
        except BaseException:
            self.stop()
            raise
        self._watchdog = None
        if auto_reconnect:
            self._watchdog = threading.Thread(target=self._reconnect_loop, daemon=True, name="sim-farm-watchdog")
            self._watchdog.start()

    @property
    def phones(self) -> dict[str, SimulatedPhone]:
        with self._lock:
            return {serial: endpoint.phone for serial, endpoint in self._endpoints.items()}

    @property
    def serials(self) -> list[str]:
        return list(self.phones)

    def add_phone(self, phone: SimulatedPhone | None = None, port: int | None = None) -> str:
        """Start one more phone, connect it, wait until adb reports it online; returns its serial."""
        if phone is None:
            locale, rate, seed, version, quirks = self._phone_options
            phone = SimulatedPhone(f"{self._serial_prefix}{next(self._names)}", locale=locale, app_version=version)
            phone.interruption_rate = rate
            phone.seed_interruptions(seed)
            for quirk, value in quirks.items():
                if quirk not in QUIRKS:
                    raise ValueError(f"unknown simulated quirk {quirk!r}")
                setattr(phone, quirk, value)
        endpoint = _PhoneEndpoint(phone, port)
        with self._lock:
            self._endpoints[endpoint.serial] = endpoint
        try:
            connect(self.adb, endpoint.serial)
            self.wait_online(endpoint.serial)
        except BaseException:
            with self._lock:
                self._endpoints.pop(endpoint.serial, None)
            endpoint.close()
            raise
        return endpoint.serial

    def wait_online(self, serial: str, timeout: float = 10) -> None:
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            try:
                state = states(self.adb).get(serial)
            except (AdbError, OSError):
                state = None
            if state == "device":
                return
            time.sleep(0.02)
        raise SimulatorError(f"simulated phone {serial} did not come online (adb reports {state})")

    def reconnect_missing(self) -> list[str]:
        """Re-adopt phones the adb server forgot (e.g. after it restarted); returns their serials."""
        try:
            known = set(states(self.adb))
        except (AdbError, OSError):
            return []
        reconnected = []
        for serial, endpoint in list(self._endpoints.items()):
            if serial not in known and endpoint.phone.plugged_in():
                try:
                    connect(self.adb, serial)
                    reconnected.append(serial)
                except SimulatorError:
                    pass
        return reconnected

    def _reconnect_loop(self) -> None:
        while not self._stopped.wait(1.0):
            self.reconnect_missing()

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            endpoints = list(self._endpoints.values())
            self._endpoints.clear()
        for endpoint in endpoints:
            disconnect(self.adb, endpoint.serial)
            endpoint.close()

    def __enter__(self) -> "SimulatedFarm":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()
