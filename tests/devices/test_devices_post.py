"""The post script against simulated TikTok and Instagram: push, media scan, upload flow, cleanup."""

from __future__ import annotations

import pytest

from contract.script_configs import PostConfig
from devices.adb import open_phone
from devices.errors import DeviceError
from devices.runner import run_script

HOSTILE_CAPTION = '"; rm -rf /sdcard; echo "'


@pytest.fixture
def phone(farm, serial):
    phone = farm.phones[serial]
    # Instant by default to keep the suite fast; the useSound case below waits for real.
    phone.upload_seconds = 0.0
    phone.sound_load_seconds = 0.0
    return phone


@pytest.fixture
def media(tmp_path):
    files = {"video": tmp_path / "clip.mp4", "a": tmp_path / "one.jpg", "b": tmp_path / "two.png"}
    for name, path in files.items():
        path.write_bytes(name.encode() * 1000)
    return files


def _config(files, **overrides):
    return PostConfig(**{"files": [str(path) for path in files], "captions": HOSTILE_CAPTION, "content_type": 0,
                         "post_way": "share", "upload_wait_time": 10, "sound_wait_time": 5, **overrides})


def _assert_nothing_else_ran(phone):
    ran = [argv for _moment, argv in phone.commands]
    # The only rm is the cleanup of our own pushed files; the caption's rm and echo never ran.
    assert [argv for argv in ran if argv[0] == "rm"] == [
        argv for argv in ran if argv[:2] == ["rm", "-f"] and all("phonefarm_" in arg for arg in argv[2:])]
    assert not [argv for argv in ran if argv[0] in ("echo", "reboot")]


def _assert_cleaned_up(phone):
    assert not [path for path in phone.fs.paths() if "phonefarm_" in path]
    assert [path for _id, path in phone.media_store.newest_first()] == ["/sdcard/DCIM/Camera/existing.jpg"]
    assert phone.fs.read("/sdcard/DCIM/Camera/existing.jpg") is not None


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
@pytest.mark.parametrize("post_way", ["share", "addButton", "useSound"])
def test_video_is_published_and_the_pushed_file_removed(adb, serial, phone, media, platform, post_way):
    if post_way == "useSound":
        phone.upload_seconds, phone.sound_load_seconds = 0.8, 0.4  # progress, then "published"
    note = run_script(adb, serial, "post", _config([media["video"]], post_way=post_way, sound_name="lofi beat"),
                      task_id=1, platform=platform)
    assert note.startswith("published video on " + ("TikTok" if platform == "tiktok" else "Instagram"))
    [post] = phone.published
    assert post["platform"] == platform and post["account"] == phone.logged_in[platform]
    assert post["caption"] == HOSTILE_CAPTION  # typed as one literal argument, never run
    _assert_nothing_else_ran(phone)
    assert len(post["media"]) == 1 and post["media"][0].startswith("phonefarm_")
    assert post["media"][0].endswith(".mp4")
    assert post["sound"] == ("lofi beat" if post_way == "useSound" else None)
    assert post["placement"] == ("reel" if platform == "instagram" else None)
    _assert_cleaned_up(phone)


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
@pytest.mark.parametrize("post_way", ["share", "addButton"])
def test_images_select_every_pushed_file(adb, serial, phone, media, platform, post_way):
    # Emoji and non-ASCII cannot go through `input text`: they must take the ADBKeyBoard broadcast.
    caption = "sunset 🌅 café\nline two"
    run_script(adb, serial, "post", _config([media["a"], media["b"]], content_type=1, post_way=post_way,
                                            captions=caption, placement="story"), task_id=1, platform=platform)
    [post] = phone.published
    assert sorted(name.rsplit(".", 1)[1] for name in post["media"]) == ["jpg", "png"]
    assert all(name.startswith("phonefarm_") for name in post["media"])
    assert post["caption"] == caption
    assert any(argv[:2] == ["am", "broadcast"] for _moment, argv in phone.commands)
    assert post["placement"] == ("story" if platform == "instagram" else None)
    _assert_cleaned_up(phone)


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_custom_sound_and_volumes(adb, serial, phone, media, platform):
    run_script(adb, serial, "post", _config([media["video"]], add_sound="custom", custom_sound_keyword="rainy day",
                                            origin_sound_volume=30, add_sound_volume=80), task_id=1, platform=platform)
    post = phone.published[0]
    assert (post["sound"], post["origin_volume"], post["added_volume"]) == ("rainy day", 30, 80)


def test_add_sound_on_takes_the_first_suggestion(adb, serial, phone, media):
    run_script(adb, serial, "post", _config([media["video"]], add_sound=1, origin_sound_volume=0,
                                            add_sound_volume=100), task_id=1)
    post = phone.published[0]
    assert (post["sound"], post["origin_volume"], post["added_volume"]) == ("Trending beat", 0, 100)


@pytest.mark.parametrize("platform, url, sound", [
    ("tiktok", "https://www.tiktok.com/music/original-sound-7123", "original-sound-7123"),
    ("instagram", "https://www.instagram.com/reels/audio/99887766/", "99887766")])
def test_use_sound_by_url(adb, serial, phone, media, platform, url, sound):
    run_script(adb, serial, "post", _config([media["video"]], post_way="useSound", sound_name=url),
               task_id=1, platform=platform)
    assert phone.published[0]["sound"] == sound


@pytest.mark.parametrize("platform", ["tiktok", "instagram"])
def test_upload_that_never_finishes_fails_and_cleans_up(adb, serial, phone, media, platform, tmp_path):
    phone.upload_never_finishes = True
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "post", _config([media["video"]], upload_wait_time=1), task_id=1,
                   platform=platform, artifacts_dir=tmp_path / "artifacts")
    assert raised.value.remark.startswith("upload did not finish within 1 s")
    assert not raised.value.transient  # a retry could publish twice
    assert phone.published == []
    assert (tmp_path / "artifacts" / "screenshot.png").read_bytes().startswith(b"\x89PNG")
    assert "Uploading" in (tmp_path / "artifacts" / "hierarchy.xml").read_text()
    _assert_cleaned_up(phone)


def test_missing_app_is_reported(adb, serial, phone, media):
    phone.installed_packages.discard("com.instagram.android")
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "post", _config([media["video"]]), task_id=1, platform="instagram")
    assert raised.value.remark == f"Instagram app is not installed on phone {serial}"


@pytest.mark.parametrize("post_way", ["share", "addButton"])
def test_logged_out_active_account_fails_and_cleans_up(adb, serial, phone, media, post_way, tmp_path):
    phone.logged_out.add("sim1_tt_a")
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "post", _config([media["video"]], post_way=post_way), task_id=1,
                   artifacts_dir=tmp_path / "artifacts")
    assert raised.value.remark.startswith(f"account @sim1_tt_a is logged out on phone {serial}")
    assert "Log in" in (tmp_path / "artifacts" / "hierarchy.xml").read_text()
    _assert_cleaned_up(phone)


def test_disconnect_during_post_is_transient(adb, serial, phone, media, tmp_path):
    phone.disconnect_after_commands = 6
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "post", _config([media["video"]], post_way="addButton"), task_id=1,
                   artifacts_dir=tmp_path / "artifacts")
    assert raised.value.transient
    assert raised.value.remark.startswith(f"phone {serial} disconnected during the task")
    assert not (tmp_path / "artifacts").exists()


def test_post_without_files_is_refused(adb, serial):
    with pytest.raises(DeviceError) as raised:
        run_script(adb, serial, "post", PostConfig(files=[]), task_id=1)
    assert raised.value.remark == "no media files chosen for the post"


def test_media_store_sees_pushed_files_only_after_a_scan(adb, serial, phone):
    device = open_phone(adb, serial)
    device.sync.push(b"x" * 100, "/sdcard/DCIM/Camera/new.mp4")
    query = ["content", "query", "--uri", "content://media/external/file", "--projection", "_id",
             "--where", "_display_name='new.mp4'"]
    assert device.shell(query) == "No result found."
    device.shell(["content", "call", "--uri", "content://media", "--method", "scan_volume",
                  "--arg", "external_primary"])
    assert device.shell(query).startswith("Row: 0 _id=")
