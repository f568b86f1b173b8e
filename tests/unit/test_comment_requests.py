"""The comment script's create requests: post URLs, one task per post, the comment each task takes, refusals."""

from __future__ import annotations

import random
from datetime import datetime, timezone
from pathlib import Path

import pytest
from pydantic import ValidationError

from api.domain.errors import ApiError, Code
from api.domain.planning import plan_tasks
from api.domain.requests import TaskRequest
from api.gateways.index import Account
from contract.script_configs import CommentConfig, post_url

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
TT1 = "https://www.tiktok.com/@alice/video/7301234567890123456"
TT2 = "https://vm.tiktok.com/ZMabc123/"
IG = "https://www.instagram.com/reel/C1a2B3c4D5e/"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
ACCOUNTS = [Account("tt_one", "tiktok", "s1", True), Account("ig_one", "instagram", "s1", True),
            Account("tt_two", "tiktok", "s2", True)]


def plan(config: dict, serials=("s1", "s2"), *, library: Path = Path("/nowhere"), **request):
    return [task for task, _start in plan_tasks(
        TaskRequest(**{"serials": list(serials), "script_name": "comment", "script_config": config, **request}),
        NOW, random.Random(1), known_serials=lambda: {"s1", "s2"}, accounts=lambda: ACCOUNTS, max_tasks=50,
        material_library=library, material_roots=(), comment_endpoints=())]


def refused(config: dict, *words: str, **request) -> None:
    with pytest.raises(ApiError) as caught:
        plan(config, **request)
    assert caught.value.code == Code.INVALID, caught.value.message
    for word in words:
        assert word in caught.value.message, caught.value.message


def test_the_url_string_splits_on_newlines_and_commas_and_drops_tracking_queries():
    config = CommentConfig(target_post_url=f"{TT1}?is_from_webapp=1, {TT2}\n\n{TT1}", comment_content="hi")
    assert config.targets() == [TT1, TT2, TT1]


def test_the_array_wins_over_the_string():
    config = CommentConfig(target_post_urls=[TT2], target_post_url=TT1, comment_content="hi")
    assert config.targets() == [TT2]


@pytest.mark.parametrize("url, platform", [
    (TT1, "tiktok"), (TT2, "tiktok"), ("https://www.instagram.com/p/C1a2B3c4D5e/", "instagram"), (IG, "instagram")])
def test_the_four_url_forms_are_known(url, platform):
    assert post_url(url) == (platform, url)


@pytest.mark.parametrize("url", [
    "http://www.tiktok.com/@alice/video/1", "https://www.tiktok.com/@alice", "https://evil.test/@a/video/1",
    "https://www.instagram.com/alice/", "https://vm.tiktok.com/../x/", "javascript:alert(1)"])
def test_other_urls_are_refused(url):
    refused({"target_post_urls": [url], "comment_content": "hi"}, "target_post_urls", "not a TikTok or Instagram post")


def test_three_posts_on_two_phones_make_six_tasks_each_on_the_posts_app():
    tasks = plan({"target_post_url": f"{TT1},{TT2},{IG}", "comment_content": "nice"})
    assert [(t.serial, t.script_config["target_post_urls"], t.platform) for t in tasks] == [
        (serial, [url], platform) for serial in ("s1", "s2")
        for url, platform in ((TT1, "tiktok"), (TT2, "tiktok"), (IG, "instagram"))]
    assert {t.script_config["target_post_url"] for t in tasks} == {""}


def test_sequential_order_gives_the_nth_task_the_nth_comment_cycling():
    tasks = plan({"target_post_urls": [TT1, TT2, IG], "comment_content": "one\ntwo\n\nthree\nfour",
                  "comment_order": "sequential"})
    assert [t.script_config["comment_content"] for t in tasks] == ["one", "two", "three", "four", "one", "two"]


def test_random_order_gives_each_task_one_of_the_lines():
    tasks = plan({"target_post_urls": [TT1, TT2, IG], "comment_content": "one\ntwo\nthree"})
    assert {t.script_config["comment_content"] for t in tasks} <= {"one", "two", "three"}


def test_accounts_only_get_the_posts_of_their_own_app():
    tasks = plan({"target_post_urls": [TT1, IG], "comment_content": "hi"}, enable_multi_account=True)
    assert sorted((t.username, t.script_config["target_post_urls"][0]) for t in tasks) == [
        ("ig_one", IG), ("tt_one", TT1), ("tt_two", TT1)]
    by_name = plan({"target_post_urls": [TT1], "comment_content": "hi"}, serials=(), usernames=["tt_two"])
    assert [(t.serial, t.username) for t in by_name] == [("s2", "tt_two")]
    refused({"target_post_urls": [IG], "comment_content": "hi"}, "instagram", IG, serials=(), usernames=["tt_two"])


@pytest.mark.parametrize("config, words", [
    ({"comment_content": "hi"}, ["target_post_urls or target_post_url is required"]),
    ({"target_post_url": " , \n", "comment_content": "hi"}, ["target_post_urls or target_post_url is required"]),
    ({"target_post_urls": [TT1]}, ["comment_content is required"]),
    ({"target_post_urls": [TT1], "comment_content": "\n \n"}, ["comment_content is required"]),
    ({"target_post_urls": [TT1], "comment_content": "x" * 151}, ["150"]),
    ({"target_post_urls": [TT1], "comment_content": "x" * 149, "insert_emoji": True}, ["147", "emoji"]),
    ({"target_post_urls": [TT1], "comment_content": "\n".join(["x"] * 201)}, ["200 comments"]),
    ({"target_post_urls": [TT1] * 1001, "comment_content": "hi"}, ["target_post_urls", "1000"]),
    ({"target_post_urls": [TT1 + "/" + "x" * 300], "comment_content": "hi"}, ["300"]),
    ({"target_post_urls": [TT1], "comment_content": "hi", "comment_order": "shuffled"}, ["comment_order"]),
    ({"target_post_urls": [IG], "comment_content": "hi", "comment_image_path": "a.jpg"}, ["TikTok posts only"]),
    ({"target_post_urls": [IG], "comment_content": "hi", "platform": "tiktok"}, ["not a tiktok post"]),
])
def test_bad_configs_are_40001_naming_the_problem(config, words):
    refused(config, *words)


def test_more_tasks_than_a_request_may_create_are_refused_before_the_fan_out():
    urls = [f"https://www.tiktok.com/@a/video/{i}" for i in range(30)]
    refused({"target_post_urls": urls, "comment_content": "hi"}, "60 tasks", "50")


def test_the_comment_image_comes_from_the_material_folders(tmp_path):
    (tmp_path / "pics").mkdir()
    (tmp_path / "pics" / "cat.jpg").write_bytes(JPEG)
    (tmp_path / "clip.jpg").write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16)
    [task] = plan({"target_post_urls": [TT1], "comment_content": "hi", "comment_image_path": "pics/cat.jpg"},
                  serials=("s1",), library=tmp_path)
    assert task.script_config["comment_image_path"] == str((tmp_path / "pics" / "cat.jpg").resolve())
    for name, words in (("pics/dog.jpg", "does not exist"), ("clip.jpg", "not an image"),
                        ("/etc/passwd", "outside the material folders"), ("../x.jpg", "outside")):
        with pytest.raises(ApiError) as caught:
            plan({"target_post_urls": [TT1], "comment_content": "hi", "comment_image_path": name},
                 serials=("s1",), library=tmp_path)
        assert words in caught.value.message and caught.value.data == {"field": "script_config.comment_image_path"}


def test_the_schema_itself_refuses_a_missing_target():
    with pytest.raises(ValidationError):
        CommentConfig(comment_content="hi")


def test_the_openapi_document_describes_the_comment_config():
    from api.rest.openapi import build

    schemas = build(1024)["components"]["schemas"]
    assert "comment takes CommentConfig" in schemas["CreateTaskBody"]["properties"]["script_config"]["description"]
    assert {"target_post_urls", "target_post_url", "comment_content", "comment_order", "insert_emoji",
            "comment_image_path"} == set(schemas["CommentConfig"]["properties"])
