"""The screen camera remembers only this PC's phones, and forgets a screen nobody asks for."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from api.gateways.screens import FORGET_SECONDS, ScreenCamera


class Clock:
    def __init__(self):
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def camera(attached: set[str], clock: Clock) -> ScreenCamera:
    cam = ScreenCamera(None, Path("/nowhere"), lambda: set(attached), clock=clock)
    cam._take = lambda serial: b"\x89PNG" + serial.encode()
    return cam


def test_serials_that_are_no_phone_here_are_not_remembered():
    clock = Clock()
    cam = camera({"phone-1"}, clock)
    with ThreadPoolExecutor(1) as pool:
        for i in range(500):
            assert cam.latest(f"random-{i}") is None
        cam.latest("phone-1")
        cam.take_due(pool)  # reads the phones: phone-1 is one
        assert cam.latest("phone-1") is None  # asked for now; taken in the next round
        cam.take_due(pool)
        assert cam.latest("phone-1").png == b"\x89PNGphone-1"
        for i in range(500):
            cam.latest(f"random-{i}")
        cam.take_due(pool)
    assert set(cam._asked) == {"phone-1"} and set(cam._shots) == {"phone-1"}


def test_a_screen_nobody_asks_for_is_forgotten():
    clock = Clock()
    attached = {"phone-1"}
    cam = camera(attached, clock)
    with ThreadPoolExecutor(1) as pool:
        cam.latest("phone-1")
        cam.take_due(pool)
        cam.latest("phone-1")
        cam.take_due(pool)
        assert cam._shots
        clock.now += FORGET_SECONDS + 1
        cam.take_due(pool)
    assert cam._asked == {} and cam._shots == {}


def test_a_phone_asked_for_between_rounds_is_still_known():
    clock = Clock()
    cam = camera({"phone-1"}, clock)
    with ThreadPoolExecutor(1) as pool:
        cam.latest("phone-1")
        cam.take_due(pool)
        cam.take_due(pool)  # a round with nobody asking in between
        cam.latest("phone-1")
        cam.take_due(pool)
        assert cam.latest("phone-1") is not None
