"""Simulated screenshots draw the UI; a simulated phone's listener starts on a port left in TIME_WAIT."""

from __future__ import annotations

import socket
import struct
import zlib

from devices.adb import open_phone
from tests.devices.simulator_helpers import TIKTOK, launch
from tests.harness import free_port, running_farm, until


def _decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, grey pixels) of an 8-bit greyscale PNG, checking every chunk's CRC."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks = 8, {}
    while position < len(data):
        (length,) = struct.unpack(">I", data[position:position + 4])
        kind, body = data[position + 4:position + 8], data[position + 8:position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length:position + 12 + length])
        assert crc == zlib.crc32(kind + body), kind
        chunks[kind] = chunks.get(kind, b"") + body
        position += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0) and b"IEND" in chunks
    raw = zlib.decompress(chunks[b"IDAT"])
    rows = [raw[y * (width + 1):(y + 1) * (width + 1)] for y in range(height)]
    assert all(row[0] == 0 for row in rows)  # filter type 0 everywhere
    return width, height, b"".join(row[1:] for row in rows)


def test_the_screenshot_is_a_png_of_what_is_on_screen(adb):
    with running_farm(adb, 1, locale="ja") as farm:
        device = open_phone(adb, farm.serials[0])
        shots = []
        for step in (lambda: None, lambda: launch(device, TIKTOK),
                     lambda: device.shell(["input", "tap", "960", "160"])):
            step()
            device.shell("screencap -p /sdcard/shot.png")
            shots.append(_decode_png(device.sync.read_bytes("/sdcard/shot.png")))
        launcher, feed, search = shots
        assert feed[:2] == (108, 240)
        assert len({launcher[2], feed[2], search[2]}) == 3
        assert len(set(feed[2])) >= 3  # background, boxes and text, not a flat grey


def test_a_phone_listens_on_a_port_left_in_time_wait_and_keeps_its_serial(adb):
    port = free_port()
    for _restart in range(3):
        with running_farm(adb, 1, first_port=port) as farm:
            assert farm.serials == [f"127.0.0.1:{port}"]
            assert open_phone(adb, farm.serials[0]).shell("echo up") == "up"
            client = socket.create_connection(("127.0.0.1", port))
        client.close()
        # The phone shut its side first, so its port is in TIME_WAIT when it starts again.
        until(lambda: _time_wait_on(port), 5, f"port {port} in TIME_WAIT", interval=0.02)


def _time_wait_on(port: int) -> bool:
    """Whether a TCP connection with local port `port` is in TIME_WAIT (state 06 in /proc/net/tcp)."""
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return any(row[1].endswith(f":{port:04X}") and row[3] == "06" for row in rows)
