"""The account_warmup script on simulated feeds, with a fake clock so a 10-minute session takes seconds."""

from __future__ import annotations

import random
import re

import pytest

from contract.script_configs import WarmupConfig
from devices.errors import DeviceError
from devices.runner import run_script


class FakeTime:
    """clock() and sleep() for the script: sleeping only moves the clock."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _warm_up(adb, serial, platform="tiktok", comments=None, seed=7, fake=None, **config):
    fake = fake or FakeTime()
    settings = WarmupConfig(**{"task_duration": 100, "min_duration": 15, "max_duration": 30, **config})
    return run_script(adb, serial, "account_warmup", settings, task_id=1, platform=platform, comments=comments,
                      rng=random.Random(seed), clock=fake.clock, sleep=fake.sleep)


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_every_action_at_full_chance(adb, serial, phone, platform):
    fake = FakeTime()
    lines = iter(f"nice video {n}" for n in range(100))
    note = _warm_up(adb, serial, platform, comments=lambda: next(lines), fake=fake, task_duration=60, like_probable=100,
                    floow_probable=100, collect_probable=100, comment_probable=100)
    watched = len(phone.watched)
    assert 2 <= watched <= 4  # 60 s of 15-30 s videos
    assert note == (f"watched {watched} videos, liked {watched}, followed {watched}, bookmarked {watched}, "
                    f"commented {watched}")
    assert all(15 <= seconds <= 30 for seconds in fake.sleeps) and len(fake.sleeps) == watched
    assert len(phone.engaged("like", platform)) == watched
    assert len(phone.engaged("bookmark", platform)) == watched
    assert len(phone.following(platform)) == watched
    assert [text for _video, text in phone.engaged("comment", platform)] == [f"nice video {n}" for n in range(watched)]
    assert {account for _p, account, _c in phone.watched} == {phone.logged_in[platform]}


def test_zero_chances_only_watch(adb, serial, phone):
    note = _warm_up(adb, serial, comments=lambda: "unused")
    assert re.fullmatch(r"watched \d+ videos, liked 0, followed 0, bookmarked 0, commented 0", note)
    assert phone.engagements == []
    assert note.startswith(f"watched {len(phone.watched)} videos")


def test_partial_chances_match_what_the_phone_saw(adb, serial, phone):
    note = _warm_up(adb, serial, "instagram", seed=3, task_duration=200, like_probable=50, floow_probable=20,
                    collect_probable=30)
    counts = {kind: len(phone.engaged(kind, "instagram")) for kind in ("like", "follow", "bookmark")}
    assert note == (f"watched {len(phone.watched)} videos, liked {counts['like']}, followed {counts['follow']}, "
                    f"bookmarked {counts['bookmark']}, commented 0")
    assert 0 < counts["like"] < len(phone.watched)


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_topic_search_opens_the_results_feed_and_hostile_topic_is_literal(adb, serial, phone, platform):
    _warm_up(adb, serial, platform, topic="$(reboot)\n\n  ", task_duration=40, like_probable=100)
    assert phone.searched_topics == ["$(reboot)"]
    assert all(creator.startswith("topic_") for _p, _a, creator in phone.watched)
    assert not [argv for _moment, argv in phone.commands if argv[0] in ("reboot", "rm")]


def test_emoji_comment_goes_through_adb_keyboard(adb, serial, phone):
    _warm_up(adb, serial, comments=lambda: "so good 😍🔥", task_duration=20, min_duration=25, max_duration=25,
             comment_probable=100)
    assert [text for _video, text in phone.engaged("comment", "tiktok")] == ["so good 😍🔥"]
    assert any(argv[:2] == ["am", "broadcast"] for _moment, argv in phone.commands)


def test_playing_feed_needs_the_dump_retry(adb, serial, phone):
    _warm_up(adb, serial, task_duration=20)
    dumps = [argv for _moment, argv in phone.commands if argv[:2] == ["uiautomator", "dump"]]
    assert ["uiautomator", "dump", "--compressed", "/data/local/tmp/uidump.xml"] in dumps


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_feed_that_never_dumps_is_not_recognised(adb, serial, phone, platform, tmp_path):
    phone.feed_dump_always_fails = True
    fake = FakeTime()
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "account_warmup", WarmupConfig(task_duration=100), task_id=1, platform=platform,
                   rng=random.Random(1), clock=fake.clock, sleep=fake.sleep, artifacts_dir=tmp_path / "artifacts")
    assert raised.value.remark.startswith("UI not recognised: could not read the screen")
    assert raised.value.transient
    assert (tmp_path / "artifacts" / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    if platform == "instagram":  # the home feed was read before the Reels tab: that is the last dump
        assert 'content-desc="Reels"' in (tmp_path / "artifacts" / "hierarchy.xml").read_text()


def test_missing_app_is_reported(adb, serial, phone):
    phone.installed_packages.discard("com.zhiliaoapp.musically")
    with pytest.raises(DeviceError) as raised:
        _warm_up(adb, serial)
    assert raised.value.remark == f"TikTok app is not installed on phone {serial}"


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_logged_out_account_is_reported(adb, serial, phone, platform):
    phone.logged_out.add(phone.logged_in[platform])
    with pytest.raises(DeviceError) as raised:
        _warm_up(adb, serial, platform)
    assert raised.value.remark.startswith(f"account @{phone.logged_in[platform]} is logged out")


def test_disconnect_mid_session_is_transient(adb, serial, phone):
    phone.disconnect_after_commands = 12
    with pytest.raises(DeviceError) as raised:
        _warm_up(adb, serial, like_probable=100)
    assert raised.value.transient
    assert raised.value.remark.startswith(f"phone {serial} disconnected during the task")


def test_warmup_as_another_account(adb, serial, phone):
    fake = FakeTime()
    run_script(adb, serial, "account_warmup", WarmupConfig(task_duration=30, like_probable=100), task_id=1,
               username="sim1_tt_b", rng=random.Random(2), clock=fake.clock, sleep=fake.sleep)
    assert phone.engaged("like", "tiktok", "sim1_tt_b") and not phone.engaged("like", "tiktok", "sim1_tt_a")
