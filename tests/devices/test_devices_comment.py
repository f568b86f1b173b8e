"""The comment script run through run_script against simulated TikTok and Instagram posts opened by URL."""

from __future__ import annotations

import random

import pytest

from contract.script_configs import CommentConfig
from devices.errors import TargetNotFound
from devices.runner import run_script

TT = "https://www.tiktok.com/@alice/video/7301234567890123456"
IG = "https://www.instagram.com/p/C1a2B3c4D5e/"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def test_a_tiktok_comment_with_an_emoji_and_an_image(adb, serial, phone, tmp_path):
    image = tmp_path / "cat.jpg"
    image.write_bytes(JPEG)
    config = CommentConfig(target_post_urls=[TT], comment_content="Zażółć gęślą jaźń", insert_emoji=True,
                           comment_image_path=str(image))
    note = run_script(adb, serial, "comment", config, task_id=1, platform="tiktok", rng=random.Random(4))
    [(item, text)] = phone.engaged("comment", "tiktok")
    assert item == "@alice/video/7301234567890123456" and text.startswith("Zażółć gęślą jaźń ")
    [(_item, attached)] = phone.engaged("comment_image", "tiktok")
    assert attached.startswith("/sdcard/DCIM/Camera/phonefarm_") and attached.endswith(".jpg")
    assert attached not in phone.fs.paths()  # taken out of the camera roll again
    assert note == f"commented {text!r} with an image on {TT}"


def test_an_instagram_comment(adb, serial, phone):
    run_script(adb, serial, "comment", CommentConfig(target_post_url=IG, comment_content="nice"), task_id=1,
               platform="instagram")
    assert phone.engaged("comment", "instagram") == [("p/C1a2B3c4D5e", "nice")]


def test_a_missing_post_fails_with_a_remark(adb, serial, phone):
    phone.missing_posts.add("C1a2B3c4D5e")
    with pytest.raises(TargetNotFound, match="does not exist"):
        run_script(adb, serial, "comment", CommentConfig(target_post_url=IG, comment_content="nice"), task_id=1,
                   platform="instagram")
    assert phone.engaged("comment", "instagram") == []
