"""Every script on simulated phones that speak Polish and Japanese, with interruptions at 0.3 over their screens
and slow first dumps (videos that block dumps: test_simulator_quirks.py)."""

from __future__ import annotations

import random

import pytest

from contract.script_configs import FollowConfig, PostConfig, WarmupConfig
from devices.adb import open_phone
from devices.errors import DeviceError
from devices.follow import follow_user
from devices.phone import Phone
from devices.runner import run_script
from devices.watcher import Watcher
from simulator.interruptions import Interruption
from tests.devices.test_devices_warmup import FakeTime
from tests.harness import running_farm

SEED = 3  # each test re-seeds its phone: a failure replays whichever worker runs it


@pytest.fixture(scope="module", params=["pl", "ja"])
def farm(adb, request):
    # One phone per locale for the whole module: each test uses targets of its own.
    with running_farm(adb, 1, locale=request.param, interruption_rate=0.3, seed=SEED,
                      quirks={"first_dump_seconds": 0.05}) as farm:
        yield farm


@pytest.fixture
def phone(farm, serial):
    phone = farm.phones[serial]
    phone.seed_interruptions(SEED)
    phone.upload_seconds = phone.sound_load_seconds = 0.0
    phone.interruption = None
    return phone


def _shown_during(phone, action):
    before = len(phone.interruptions_shown)
    result = action()
    return result, phone.interruptions_shown[before:]


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_follow_by_search_then_unfollow_by_link(adb, serial, phone, platform):
    target = f"{platform}_{phone.locale}_fan"
    note, shown = _shown_during(phone, lambda: run_script(
        adb, serial, "follow", FollowConfig(target_users=[target], access_method="search"), task_id=1,
        platform=platform))
    assert note.startswith(f"now following @{target}")
    assert phone.following(platform) >= {target}
    note, more = _shown_during(phone, lambda: run_script(
        adb, serial, "unfollow", FollowConfig(target_users=[target]), task_id=2, platform=platform))
    assert note.startswith(f"unfollowed @{target}")
    assert target not in phone.following(platform)
    assert shown + more  # the dialogs came, and went
    again = run_script(adb, serial, "unfollow", FollowConfig(target_users=[target]), task_id=3, platform=platform)
    assert again.startswith(f"already not following @{target}")


@pytest.mark.parametrize("platform, config", [
    ("tiktok", {"content_type": 1, "post_way": "addButton", "add_sound": "custom", "custom_sound_keyword": "rain",
                "origin_sound_volume": 20, "add_sound_volume": 90}),
    ("instagram", {"content_type": 0, "post_way": "useSound", "sound_name": "lofi", "placement": "story"}),
])
def test_post(adb, serial, phone, platform, config, tmp_path):
    files = [tmp_path / "one.jpg", tmp_path / "two.png"] if config["content_type"] else [tmp_path / "clip.mp4"]
    for path in files:
        path.write_bytes(b"x" * 500)
    before = len(phone.published)
    post = PostConfig(files=[str(path) for path in files], captions="zażółć 投稿 😍", upload_wait_time=10,
                      sound_wait_time=5, **config)
    note, shown = _shown_during(phone, lambda: run_script(adb, serial, "post", post, task_id=1, platform=platform))
    assert note.startswith("published")
    [published] = phone.published[before:]
    assert published["caption"] == "zażółć 投稿 😍" and len(published["media"]) == len(files)
    if platform == "tiktok":
        assert (published["sound"], published["origin_volume"], published["added_volume"]) == ("rain", 20, 90)
    else:
        assert (published["sound"], published["placement"]) == ("lofi", "story")
    assert shown


@pytest.mark.parametrize("platform, topic", [("tiktok", "koty"), ("instagram", "")])
def test_warmup_likes_follows_and_comments(adb, serial, phone, platform, topic):
    fake = FakeTime()
    lines = iter(f"świetne {n} すごい" for n in range(50))
    config = WarmupConfig(task_duration=45, min_duration=15, max_duration=15, topic=topic, like_probable=100,
                          floow_probable=100, collect_probable=100, comment_probable=100)
    before = {kind: len(phone.engaged(kind, platform)) for kind in ("like", "follow", "comment")}
    note, shown = _shown_during(phone, lambda: run_script(
        adb, serial, "account_warmup", config, task_id=1, platform=platform, comments=lambda: next(lines),
        rng=random.Random(4), clock=fake.clock, sleep=fake.sleep))
    watched = int(note.split()[1])
    assert watched == 3
    assert note.startswith("watched 3 videos, liked 3, followed 3, bookmarked 3, commented 3")
    for kind in ("like", "follow", "comment"):
        assert len(phone.engaged(kind, platform)) - before[kind] == 3, kind
    assert shown


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_switch_account_then_follow(adb, serial, phone, platform):
    other = phone.accounts[platform][1 if phone.logged_in[platform] == phone.accounts[platform][0] else 0]
    note, shown = _shown_during(phone, lambda: run_script(
        adb, serial, "follow", FollowConfig(target_users=[f"{platform}_switch"]), task_id=1, platform=platform,
        username=other))
    assert note.startswith(f"now following @{platform}_switch")
    assert phone.logged_in[platform] == other
    assert f"{platform}_switch" in phone.following(platform, other)
    assert shown


def test_an_unknown_blocking_dialog_is_named_in_the_remark(adb, serial, phone):
    phone.blocking = Interruption("survey", "tiktok", ("Czy podoba ci się TikTok?",), (("Może później", "", False),),
                                  blocking=True)
    try:
        device_phone = Phone(open_phone(adb, serial))
        device_phone.watcher = Watcher.for_app("tiktok", phone.locale)
        with pytest.raises(DeviceError) as raised:
            follow_user(device_phone, FollowConfig(target_users=["nobody"], access_method="search"),
                        platform="tiktok", unfollow=False, load_timeout=1.0)
    finally:
        phone.blocking = None
    # The Search button under the dialog was tapped in vain: the search box never came.
    assert raised.value.remark.startswith("UI not recognised: no search box on the search screen, and a dialog the "
                                          "interruption catalogue does not know shows ")
    assert raised.value.remark.endswith("'Czy podoba ci się TikTok?', 'Może później'")
    assert not raised.value.transient
