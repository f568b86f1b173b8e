"""The API's view of this PC's adb server: which phones it sees. It never drives a phone (flows do)."""

from __future__ import annotations

from devices.adb import AdbServer, PhoneInfo, list_phones, server_alive


class AdbGateway:
    def __init__(self, host: str, port: int):
        self.server = AdbServer(host, port)

    def alive(self) -> bool:
        return server_alive(self.server)

    def phones(self, *, with_models: bool = True) -> list[PhoneInfo]:
        """Raises DeviceError when the adb server does not answer."""
        return list_phones(self.server, with_models=with_models)
