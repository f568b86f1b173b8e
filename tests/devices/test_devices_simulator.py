"""The phone simulator behind the real adb server, and the adb access layer on top of it."""

from __future__ import annotations

import re
import time
from importlib.metadata import version
from pathlib import Path

import adbutils
import pytest
from adbutils import AdbConnection, AdbError

from devices.adb import (AdbServer, client_for, connect_phone, disconnect_phone, list_phones, open_phone,
                         server_alive)
from devices.errors import DeviceError
from tests.harness import free_port, running_farm


@pytest.fixture
def farm(adb):
    with running_farm(adb, 2) as farm:
        yield farm


def test_phones_are_listed_online_with_their_model(adb, farm):
    # The session's adb server may have other tests' phones too (the service's farm attaches early).
    phones = {info.serial: info for info in list_phones(adb)}
    assert set(farm.serials) <= set(phones)
    for info in (phones[serial] for serial in farm.serials):
        assert info.state == "device"
        assert info.model == "Pixel 7 (simulated)"


def test_shell_and_getprop_go_through_the_real_server(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    assert phone.shell("echo hello; getprop ro.product.model") == "hello\nPixel 7 (simulated)"
    assert phone.prop.model == "Pixel 7 (simulated)"
    assert phone.shell(["frobnicate"]) == "/system/bin/sh: frobnicate: not found"


def test_shell_exit_codes_with_and_without_shell_v2(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    assert phone.shell2("false").returncode == 1
    result = phone.shell2(["echo", "v2"], v2=True)
    assert (result.returncode, result.output) == (0, "v2\n")


def test_logcat_dumps_the_markers_of_one_tag_with_their_times(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    before = time.time()
    phone.shell(["log", "-t", "phonefarm", "task 7 start"])
    phone.shell(["log", "-t", "other", "not this one"])
    phone.shell(["log", "-t", "phonefarm", "task 7 end"])
    lines = phone.shell("logcat -d -v epoch -s phonefarm").splitlines()
    assert [line.split(" I ", 1)[1] for line in lines] == ["phonefarm: task 7 start", "phonefarm: task 7 end"]
    assert all(before - 1 < float(line.split()[0]) < time.time() + 1 for line in lines)
    assert "other: not this one" in phone.shell("logcat -d")
    assert phone.shell2("logcat").returncode == 1  # a stream that never ends is not simulated


def test_quoted_argument_is_one_literal_word(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    assert phone.shell(["echo", "x; rm -rf /sdcard"]) == "x; rm -rf /sdcard"
    simulated = farm.phones[farm.serials[0]]
    assert ["echo", "x; rm -rf /sdcard"] in [argv for _moment, argv in simulated.commands]
    assert not any(argv[0] == "rm" for _moment, argv in simulated.commands)


def test_push_and_pull_round_trip_larger_than_one_payload(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    payload = bytes(range(256)) * 1500  # 384 KB: split across several WRTEs both ways
    phone.sync.push(payload, "/sdcard/Download/blob.bin")
    assert farm.phones[farm.serials[0]].fs.read("/sdcard/Download/blob.bin") == payload
    assert phone.sync.read_bytes("/sdcard/Download/blob.bin") == payload
    assert "blob.bin" in [entry.path for entry in phone.sync.list("/sdcard/Download")]
    assert phone.sync.stat("/sdcard/nothing-here").mtime is None


def test_dump_hierarchy_and_screenshot_through_adbutils(adb, farm):
    phone = open_phone(adb, farm.serials[0])
    phone.shell(["monkey", "-p", "com.zhiliaoapp.musically", "-c", "android.intent.category.LAUNCHER", "1"])
    # The For You feed plays video, so the first plain dump cannot get an idle state; a retry gets through.
    with pytest.raises(AdbError):
        phone.dump_hierarchy()
    xml = phone.dump_hierarchy()
    assert xml.startswith("<?xml") and 'content-desc="Search"' in xml
    assert phone.screenshot().size == (108, 240)


def test_each_phone_keeps_its_own_state(adb, farm):
    first, second = (open_phone(adb, serial) for serial in farm.serials)
    first.sync.push(b"only on the first", "/sdcard/mine.txt")
    assert second.sync.stat("/sdcard/mine.txt").mtime is None


def test_add_phone_and_disconnect(adb, farm):
    serial = farm.add_phone()
    assert serial in {info.serial for info in list_phones(adb)}
    disconnect_phone(adb, serial)
    assert serial not in {info.serial for info in list_phones(adb)}
    assert connect_phone(adb, serial).endswith(serial)
    farm.wait_online(serial)


def test_open_phone_that_is_absent_is_a_transient_error(adb):
    with pytest.raises(DeviceError) as raised:
        open_phone(adb, "R58M123")
    assert raised.value.remark == "phone R58M123 is not connected"
    assert raised.value.transient


def test_connecting_to_nothing_fails_with_a_device_error(adb):
    with pytest.raises(DeviceError):
        connect_phone(adb, f"127.0.0.1:{free_port()}", timeout=5)


def test_unreachable_server_is_reported_not_autostarted():
    nowhere = AdbServer("127.0.0.1", free_port())
    assert not server_alive(nowhere)
    with pytest.raises(DeviceError) as raised:
        list_phones(nowhere)
    assert raised.value.transient
    with pytest.raises(AdbError):
        client_for(nowhere).server_version()  # nothing was started behind our back


def test_the_adb_access_is_pinned_to_the_adbutils_it_overrides():
    # devices/adb.py replaces two private parts of adbutils' AdbConnection: `_safe_connect` and the
    # socket slot its `close` empties. Another adbutils version must be read again before it is let in.
    requirements = (Path(__file__).parents[2] / "requirements.txt").read_text()
    assert version("adbutils") == re.search(r"^adbutils==(\S+)", requirements, re.M).group(1)
    assert "_safe_connect" in vars(AdbConnection)


def test_a_closed_connection_lets_go_of_its_socket(adb):
    connection = client_for(adb).make_connection()
    socket = connection.conn
    connection.close()
    assert connection.closed and socket.fileno() == -1
    connection.close()  # a second close is harmless, as adbutils' own is


def test_a_client_asks_the_server_its_version_once_however_many_commands_it_sends(adb, farm, monkeypatch):
    asked = []
    real = adbutils.AdbClient.server_version
    monkeypatch.setattr(adbutils.AdbClient, "server_version", lambda client: asked.append(1) or real(client))
    phone = client_for(adb).device(farm.serials[0])
    assert [phone.shell(["echo", str(number)]) for number in range(20)] == [str(number) for number in range(20)]
    assert len(asked) == 1
    assert server_alive(adb) and len(asked) == 2  # the health check asks again: a hung server must show


def test_unauthorized_or_broken_phone_does_not_break_the_listing(adb, farm):
    farm.phones[farm.serials[0]].unplug(seconds=30)
    phones = list_phones(adb)  # the unplugged phone may be listed offline or be gone; no exception
    assert farm.serials[1] in {info.serial for info in phones if info.state == "device"}
