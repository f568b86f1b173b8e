"""No value reaches a phone's shell unquoted: hostile usernames, captions, topics, comments and file names.
The simulated sh refuses what a real one would expand, so a quoting bug fails these tests loudly."""

from __future__ import annotations

import random

import pytest

from contract.script_configs import FollowConfig, PostConfig, WarmupConfig
from devices.runner import run_script

HOSTILE = [
    "'; touch /sdcard/pwned; '",
    "$(touch /sdcard/pwned)",
    "`touch /sdcard/pwned`",
    "a && touch /sdcard/pwned",
    "a | touch /sdcard/pwned",
    "a > /sdcard/pwned",
    "${HOME}$PATH",
    "\"double\" 'single' \\back",
]


def _nothing_injected(phone):
    ran = {argv[0] for _moment, argv in phone.commands}
    assert not ran & {"touch", "reboot", "sh"}, ran
    assert not [path for path in phone.fs.paths() if "pwned" in path]


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize("access_method", ["direct", "search"])
def test_hostile_username_is_followed_literally(adb, serial, phone, value, access_method):
    run_script(adb, serial, "follow", FollowConfig(target_users=[value], access_method=access_method), task_id=1,
               platform="tiktok")
    assert phone.following("tiktok") == {value}
    _nothing_injected(phone)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_caption_and_file_name_are_posted_literally(adb, serial, phone, value, tmp_path):
    phone.upload_seconds = 0.0
    clip = tmp_path / f"{value.replace('/', '_')}.mp4"
    clip.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
    run_script(adb, serial, "post", PostConfig(files=[str(clip)], captions=f"{value}\nsecond line", content_type=0,
                                               post_way="share", upload_wait_time=10), task_id=1, platform="tiktok")
    [post] = phone.published
    assert post["caption"] == f"{value}\nsecond line"
    _nothing_injected(phone)


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_topic_and_comment_are_typed_literally(adb, serial, phone, value):
    run_script(adb, serial, "account_warmup",
               WarmupConfig(task_duration=20, min_duration=5, max_duration=5, topic=value, comment_probable=100),
               task_id=1, platform="tiktok", comments=lambda: value, rng=random.Random(1),
               clock=iter(range(0, 10_000, 3)).__next__, sleep=lambda seconds: None)
    assert phone.searched_topics == [value]
    assert {text for _, text in phone.engaged("comment", "tiktok")} == {value}
    _nothing_injected(phone)
