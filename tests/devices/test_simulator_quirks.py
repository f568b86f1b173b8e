"""Real phones' quirks the simulator shows on request (a playing video blocks dumps, slow first dumps), and two
TikTok builds whose resource-ids differ; read over the real adb server."""

from __future__ import annotations

import random
import time

import pytest

from contract.script_configs import FollowConfig, WarmupConfig
from devices.runner import run_script
from tests.devices.test_devices_warmup import FakeTime
from devices import ui
from devices.adb import open_phone
from devices.phone import Phone
from simulator.farm import SimulatedFarm
from simulator.phone import SimulatedPhone
from tests.devices.simulator_helpers import INSTAGRAM, TIKTOK, dump, launch, tap_text
from tests.harness import running_farm

IDLE_FAILURE = "ERROR: could not get idle state."


def _dump_answer(device) -> str:
    return device.shell(["uiautomator", "dump", "--compressed", "/sdcard/d.xml"])


def _open_profile(device, user: str) -> None:
    device.shell(["am", "start", "-a", "android.intent.action.VIEW", "-d", f"https://www.tiktok.com/@{user}",
                  "-p", TIKTOK])


def _open_reels(device) -> None:
    launch(device, INSTAGRAM)
    tap_text(device, dump(device), "Reels")


@pytest.mark.parametrize("app", ["tiktok", "instagram"])
def test_a_playing_video_blocks_every_dump_until_a_tap_on_it_pauses_it(adb, serial, phone, app):
    device = open_phone(adb, serial)
    if app == "tiktok":
        launch(device, TIKTOK)
    else:
        _open_reels(device)
    assert _dump_answer(device).startswith("UI hierchary dumped to:")  # off by default
    phone.video_blocks_dumps = True
    for _attempt in range(3):
        assert _dump_answer(device) == IDLE_FAILURE
        assert device.shell(["uiautomator", "dump", "/sdcard/d.xml"]) == IDLE_FAILURE
    device.shell(["input", "tap", "540", "600"])  # the video itself, away from its buttons
    assert _dump_answer(device).startswith("UI hierchary dumped to:")
    device.shell(["input", "swipe", "540", "1800", "540", "400", "200"])  # the next video plays
    assert _dump_answer(device) == IDLE_FAILURE


def test_dump_xml_pauses_a_video_it_has_read_before(adb, serial, phone):
    device = open_phone(adb, serial)
    launch(device, TIKTOK)
    reader = Phone(device)
    ui.read_screen(reader)  # the feed as the script last saw it
    phone.video_blocks_dumps = True
    reader.swipe((540, 1800), (540, 400), 0.2)  # the next video plays: no dump gets through
    before = len(phone.commands)
    nodes = ui.parse(ui.dump_xml(reader))
    video = next(node for node in nodes if node.content_desc == "Video")
    taps = [argv for _moment, argv in phone.commands[before:] if argv[:2] == ["input", "tap"]]
    assert taps == [["input", "tap", *map(str, video.center)]]  # found by its content-desc, in English
    assert phone.screen.paused and phone.screen.video == 1


def test_the_first_dump_after_a_screen_opens_is_slow(adb, serial, phone):
    phone.first_dump_seconds = 0.2
    device = open_phone(adb, serial)
    _open_profile(device, "bob")
    started = time.monotonic()
    assert _dump_answer(device).startswith("UI hierchary dumped to:")
    assert time.monotonic() - started >= 0.2
    _dump_answer(device)
    assert phone.slow_dumps == ["profile"]  # the second dump of the same screen is not
    device.shell(["input", "keyevent", "KEYCODE_BACK"])
    _dump_answer(device)
    assert phone.slow_dumps == ["profile", "launcher"]


def test_a_farm_gives_its_phones_the_quirks_and_refuses_an_unknown_one(adb):
    with running_farm(adb, 2, quirks={"video_blocks_dumps": True, "first_dump_seconds": 0.01}) as farm:
        assert [(phone.video_blocks_dumps, phone.first_dump_seconds) for phone in farm.phones.values()] \
            == [(True, 0.01)] * 2
    with pytest.raises(ValueError, match="unknown simulated quirk 'video_never_plays'"):
        SimulatedFarm(adb, 1, quirks={"video_never_plays": True})


def _tiktok_feed_ids(adb, version: str) -> dict[str, str]:
    with running_farm(adb, 1, app_version=version) as farm:
        device = open_phone(adb, farm.serials[0])
        launch(device, TIKTOK)
        assert f"versionName={version}" in device.shell(["dumpsys", "package", TIKTOK])
        feed = {node["content-desc"]: node["resource-id"] for node in dump(device) if node["content-desc"]}
        _open_profile(device, "bob")
        profile = {node["text"]: node["resource-id"] for node in dump(device) if node["text"]}
        return {"search": feed["Search"], "video": feed["Video"], "follow": profile["Follow"],
                "username": profile["@bob"]}


def test_two_app_versions_carry_different_resource_ids(adb):
    new, old = _tiktok_feed_ids(adb, "43.1.4"), _tiktok_feed_ids(adb, "35.1.3")
    assert new["search"] == f"{TIKTOK}:id/irz" and old["search"] == f"{TIKTOK}:id/ia6"  # the real builds' pair
    assert new["follow"] != old["follow"] and new["username"] != old["username"]
    assert new["video"] == old["video"] == f"{TIKTOK}:id/long_press_layout"  # ids that are words stay


def test_instagram_ids_do_not_depend_on_the_tiktok_build():
    from simulator import apps
    ids = []
    for version in ("43.1.4", "35.1.3"):
        phone = SimulatedPhone("v", app_version=version)
        apps.launch(phone, INSTAGRAM)
        ids.append([node.resource_id for node in apps.render(phone)])
    assert ids[0] == ids[1] and any(ids[0])
    with pytest.raises(ValueError, match="unknown simulated app version"):
        SimulatedPhone("v", app_version="44.0")


@pytest.mark.parametrize("platform, script, config", [
    ("tiktok", "account_warmup", WarmupConfig(task_duration=20, min_duration=10, max_duration=10, like_probable=100)),
    ("instagram", "account_warmup", WarmupConfig(task_duration=20, min_duration=10, max_duration=10, like_probable=100)),
    ("tiktok", "follow", FollowConfig(target_users=["carol"], access_method="search")),
])
def test_scripts_get_through_videos_that_block_every_dump(adb, serial, phone, platform, script, config):
    """TikTok opens on a playing video, with no earlier screen to find it on: the script pauses it by a tap on
    the screen's centre, once; later videos are paused by a tap on the video found on the last screen."""
    phone.video_blocks_dumps = True
    fake = FakeTime()
    note = run_script(adb, serial, script, config, task_id=1, platform=platform, comments=None,
                      rng=random.Random(1), clock=fake.clock, sleep=fake.sleep)
    assert note.startswith("watched 2 videos, liked 2") if script == "account_warmup" else note == "now following @carol"
