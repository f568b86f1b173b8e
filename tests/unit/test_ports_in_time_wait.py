"""The simulated phones' ports: outside the kernel's ephemeral range, and a port a client left in TIME_WAIT is explained."""

from __future__ import annotations

import socket
import time

import pytest

from api.settings import Settings
from api.supervision.ports import connections_in_time_wait, ephemeral_range
from api.supervision.processes import StartupFailed
from api.supervision.steps import check_ports


class NoAdb:
    def alive(self) -> bool:
        return True


def a_port_left_in_time_wait() -> int:
    """A client's own port, closed by the client first: the kernel keeps it in TIME_WAIT."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.socket()
        client.connect(server.getsockname())
        port = client.getsockname()[1]
        accepted, _ = server.accept()
        client.close()
        time.sleep(0.1)
        accepted.close()
    return port


def test_the_simulated_phones_default_ports_lie_outside_the_ephemeral_range(tmp_path):
    low, high = ephemeral_range()
    settings = Settings(data_dir=tmp_path, simulate=200)
    ports = range(settings.simulator_first_port, settings.simulator_first_port + settings.simulate)
    assert ports.stop <= low or ports.start > high, (ports, (low, high))


def test_a_port_a_client_left_in_time_wait_is_named_as_such(tmp_path):
    port = a_port_left_in_time_wait()
    assert connections_in_time_wait(port) >= 1
    settings = Settings(data_dir=tmp_path, simulate=1, simulator_first_port=port, port=0, prefect_port=0)
    with pytest.raises(StartupFailed) as failed:
        check_ports(settings, NoAdb())
    message = str(failed.value)
    assert f"port {port} on 127.0.0.1 (for simulated phone 1) is not free" in message
    assert "TIME_WAIT" in message and "outside that range" in message, message
