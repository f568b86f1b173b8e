"""Follow / unfollow scripts run through run_script against simulated TikTok and Instagram."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from contract.script_configs import FollowConfig, ScriptConfig
from devices.adb import open_phone
from devices.errors import DeviceError
from devices.follow import follow_user
from devices.phone import Phone
from devices.runner import run_script


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
@pytest.mark.parametrize("access_method", ["direct", "search"])
def test_follow_then_unfollow_changes_the_follow_state(adb, serial, phone, platform, access_method):
    config = FollowConfig(target_users=["@bob"], access_method=access_method)
    note = run_script(adb, serial, "follow", config, task_id=1, platform=platform)
    assert note == "now following @bob"
    assert phone.following(platform) == {"bob"}

    note = run_script(adb, serial, "unfollow", config, task_id=2, platform=platform)
    assert note == "unfollowed @bob"
    assert phone.following(platform) == set()


def test_instagram_unfollow_confirms_the_sheet(adb, serial, phone):
    phone.set_following("instagram", "carol", True)
    run_script(adb, serial, "unfollow", FollowConfig(target_user="carol"), task_id=1, platform="instagram")
    assert phone.following("instagram") == set()
    assert any("Unfollow" in node_text for node_text in _tapped_labels(phone))


def _tapped_labels(phone):
    # The Unfollow row sits at y=2100..2240; a tap there means the sheet was confirmed.
    return ["Unfollow" for _moment, argv in phone.commands
            if argv[:2] == ["input", "tap"] and 2100 <= int(argv[3]) < 2240]


def test_already_followed_succeeds_without_tapping(adb, serial, phone):
    phone.set_following("tiktok", "dave", True)
    note = run_script(adb, serial, "follow", FollowConfig(target_user="dave"), task_id=1)
    assert note == "already following @dave"
    assert not [argv for _moment, argv in phone.commands if argv[:2] == ["input", "tap"]]


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
@pytest.mark.parametrize("access_method", ["direct", "search"])
def test_missing_user_fails_permanently(adb, serial, phone, platform, access_method):
    phone.missing_users.add("ghost")
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["@ghost"], access_method=access_method),
                   task_id=1, platform=platform)
    assert raised.value.remark == "target user @ghost does not exist"
    assert not raised.value.transient


@pytest.mark.parametrize("access_method", ["direct", "search"])
def test_hostile_target_is_a_literal_username(adb, serial, phone, access_method):
    hostile = "x; rm -rf /sdcard"
    run_script(adb, serial, "follow", FollowConfig(target_users=[hostile], access_method=access_method), task_id=1)
    assert phone.following("tiktok") == {hostile}
    ran = [argv[0] for _moment, argv in phone.commands]
    assert "rm" not in ran
    assert phone.fs.read("/sdcard/DCIM/Camera/existing.jpg") is not None


def test_non_ascii_target_is_typed_through_adb_keyboard(adb, serial, phone):
    run_script(adb, serial, "follow", FollowConfig(target_users=["café_ñ"], access_method="search"), task_id=1)
    assert phone.following("tiktok") == {"café_ñ"}
    assert any(argv[:2] == ["am", "broadcast"] for _moment, argv in phone.commands)


def test_flaky_ui_dump_is_retried(adb, serial, phone):
    phone.dump_failures = 2
    assert run_script(adb, serial, "follow", FollowConfig(target_users=["erin"]), task_id=1) == "now following @erin"
    dumps = [argv for _moment, argv in phone.commands if argv[:2] == ["uiautomator", "dump"]]
    assert ["uiautomator", "dump", "--compressed", "/data/local/tmp/uidump.xml"] in dumps


def test_ui_dump_that_never_works_is_transient(adb, serial, phone):
    phone.dump_failures = 100
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["erin"]), task_id=1)
    assert raised.value.remark.startswith("UI not recognised")
    assert raised.value.transient


def test_slow_profile_is_waited_out(adb, serial, phone):
    phone.profile_load_seconds = 1.0
    assert run_script(adb, serial, "follow", FollowConfig(target_users=["frank"]), task_id=1) == "now following @frank"
    assert phone.following("tiktok") == {"frank"}


def test_profile_that_never_loads_is_not_recognised(adb, serial, phone):
    phone.profile_load_seconds = 60
    with pytest.raises(DeviceError) as raised:
        follow_user(Phone(open_phone(adb, serial)), FollowConfig(target_users=["gina"]), platform="tiktok",
                    unfollow=False, load_timeout=0.8)
    assert raised.value.remark == "UI not recognised: no Follow button on the profile of @gina"


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
@pytest.mark.parametrize("access_method", ["direct", "search"])
def test_logged_out_active_account_ends_with_the_logged_out_remark(adb, serial, phone, platform, access_method):
    account = phone.logged_in[platform]
    phone.logged_out.add(account)
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"], access_method=access_method), task_id=1,
                   platform=platform)
    assert raised.value.remark.startswith(f"account @{account} is logged out on phone {serial}")
    assert not raised.value.transient
    assert phone.following(platform) == set()


def test_pulled_cable_is_a_transient_error(adb, serial, phone):
    phone.disconnect_after_commands = 3
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["hank"]), task_id=1)
    assert raised.value.transient
    assert raised.value.remark.startswith(f"phone {serial} disconnected during the task")


def test_markers_give_non_overlapping_task_intervals(adb, serial, phone):
    for task_id, target in ((7, "ivy"), (8, "jack")):
        run_script(adb, serial, "follow", FollowConfig(target_users=[target]), task_id=task_id)
    with pytest.raises(DeviceError):
        run_script(adb, serial, "like", ScriptConfig(), task_id=9)
    intervals = phone.task_intervals()
    assert [task_id for task_id, _start, _end in intervals] == [7, 8, 9]
    for (_, _, first_end), (_, second_start, _) in zip(intervals, intervals[1:]):
        assert first_end <= second_start


def test_unknown_script_is_not_implemented(adb, serial):
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "like", ScriptConfig(), task_id=None)
    assert raised.value.remark == "script like is not implemented yet"


def test_missing_app_is_reported(adb, serial, phone):
    phone.installed_packages.discard("com.zhiliaoapp.musically")
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["kim"]), task_id=1)
    assert raised.value.remark == f"TikTok app is not installed on phone {serial}"


def test_targets_prefer_target_users_then_split_target_user():
    assert FollowConfig(target_users=["@a"], target_user="b").targets() == ["@a"]
    assert FollowConfig(target_user="\n , b,c\nd").targets() == ["b", "c", "d"]
    with pytest.raises(ValidationError):
        FollowConfig(target_user=" , ")
