"""Reading and switching app accounts through the simulated profile tab and account switcher."""

from __future__ import annotations

import pytest

from contract.script_configs import FollowConfig
from devices.accounts import logged_in_accounts, read_accounts, switch_account
from devices.adb import open_phone
from devices.errors import DeviceError
from devices.phone import Phone
from devices.runner import run_script


def test_read_accounts_lists_every_account_of_every_installed_app(adb, serial, phone):
    phone.accounts["tiktok"].append("third_one")
    assert read_accounts(adb, serial) == [("tiktok", "sim1_tt_a"), ("tiktok", "sim1_tt_b"),
                                          ("tiktok", "third_one"),
                                          ("instagram", "sim1_ig_a"), ("instagram", "sim1_ig_b")]


def test_read_accounts_skips_an_app_that_is_not_installed(adb, serial, phone):
    phone.installed_packages.discard("com.instagram.android")
    assert read_accounts(adb, serial) == [("tiktok", "sim1_tt_a"), ("tiktok", "sim1_tt_b")]


@pytest.mark.parametrize("platform, account", [("tiktok", "sim1_tt_b"), ("instagram", "sim1_ig_b")])
def test_username_switches_before_the_script_runs(adb, serial, phone, platform, account):
    note = run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, platform=platform,
                      username="@" + account)
    assert note == "now following @bob"
    assert phone.logged_in[platform] == account
    assert phone.following(platform, account) == {"bob"}
    assert phone.following(platform, account.replace("_b", "_a")) == set()
    assert logged_in_accounts(Phone(open_phone(adb, serial)), platform) == [account.replace("_b", "_a"), account]


def test_switching_to_the_active_account_changes_nothing(adb, serial, phone):
    switch_account(Phone(open_phone(adb, serial)), "tiktok", "sim1_tt_a")
    assert phone.logged_in["tiktok"] == "sim1_tt_a"
    assert phone.screen.name == "me"  # the switcher was never opened


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_absent_account_is_reported(adb, serial, phone, platform):
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, platform=platform,
                   username="nobody")
    assert raised.value.remark == f"account @nobody is not logged in on phone {serial}"
    assert not raised.value.transient
    assert phone.following(platform) == set()


@pytest.mark.parametrize("platform, account", [("tiktok", "sim1_tt_b"), ("instagram", "sim1_ig_b")])
def test_logged_out_account_fails_and_saves_artifacts(adb, serial, phone, platform, account, tmp_path):
    phone.logged_out.add(account)
    artifacts = tmp_path / "task-1"
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, platform=platform,
                   username=account, artifacts_dir=artifacts)
    assert raised.value.remark.startswith(f"account @{account} is logged out on phone {serial}")
    assert (artifacts / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    hierarchy = (artifacts / "hierarchy.xml").read_text()
    assert "Your session has expired" in hierarchy and account in hierarchy


def test_expired_active_account_can_still_switch_to_another(adb, serial, phone):
    phone.logged_out.add("sim1_tt_a")
    run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, username="sim1_tt_b")
    assert phone.following("tiktok", "sim1_tt_b") == {"bob"}
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=2, username="sim1_tt_a")
    assert raised.value.remark.startswith("account @sim1_tt_a is logged out")


def test_missing_app_when_switching(adb, serial, phone, tmp_path):
    phone.installed_packages.discard("com.zhiliaoapp.musically")
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, username="sim1_tt_b",
                   artifacts_dir=tmp_path / "a")
    assert raised.value.remark == f"TikTok app is not installed on phone {serial}"
    assert (tmp_path / "a" / "screenshot.png").exists()  # no dump was taken yet: a fresh one is saved
    assert (tmp_path / "a" / "hierarchy.xml").read_text().startswith("<?xml")


def test_disconnect_while_switching_is_transient_and_saves_nothing(adb, serial, phone, tmp_path):
    phone.disconnect_after_commands = 4
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "follow", FollowConfig(target_users=["bob"]), task_id=1, username="sim1_tt_b",
                   artifacts_dir=tmp_path / "a")
    assert raised.value.transient
    assert raised.value.remark.startswith(f"phone {serial} disconnected during the task")
    assert not (tmp_path / "a").exists()
