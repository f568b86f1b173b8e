"""One create request is bounded before the work that grows with it: text lengths from the apps' own
limits, a schema for chatgpt_settings, tasks x config bytes, accounts per phone."""

from __future__ import annotations

import json
import random
from datetime import datetime, timezone

import pytest

from api.domain.errors import ApiError, Code
from api.domain.planning import RequestLimits, _task_config_bytes
from api.domain.requests import TaskRequest
from api.domain.spintax import longest, spin
from api.gateways.index import Account
from contract.script_configs import PostConfig
from tests.unit.fakes import FakePrefect, task_service, temp_index

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
CHAT = "http://chat.test/v1"


@pytest.fixture
def index(tmp_path):
    return temp_index(tmp_path)


@pytest.fixture
def tasks(index):
    return task_service(index, FakePrefect(), serials=[f"s{i}" for i in range(50)], comment_endpoints=(CHAT,),
                        limits=RequestLimits(("gpt-4o-mini", "m"), 64 * 1024, 3))


def refused(tasks, request: TaskRequest, *words: str) -> None:
    with pytest.raises(ApiError) as caught:
        tasks.plan(request, NOW, random.Random(1))
    assert caught.value.code == Code.INVALID, caught.value.message
    for word in words:
        assert word in caught.value.message, caught.value.message


def warmup(serials=("s1",), **config) -> TaskRequest:
    return TaskRequest(serials=list(serials), script_name="account_warmup", script_config=config)


def post(captions: str, serials=("s1",)) -> TaskRequest:
    return TaskRequest(serials=list(serials), script_name="post",
                       script_config={"captions": captions, "material_list": ["/nowhere/a.jpg"]})


def test_a_100_kb_caption_is_refused(tasks):
    refused(tasks, post("x" * 100_000), "captions", "22000")


def test_a_caption_longer_than_the_apps_allow_is_refused_even_through_spintax(tasks):
    refused(tasks, post("x" * 2201), "captions", "2200")
    refused(tasks, post("{" + "x" * 1500 + "|y}" + "z" * 1000), "captions", "2500 characters")


@pytest.mark.parametrize("config, field", [
    ({"comment": "y" * 151}, "150"),
    ({"comment": "\n".join(["ok"] * 201)}, "200 comments"),
    ({"topic": "t" * 101}, "100"),
    ({"chatgpt_settings": {"model": "m", "max_tokens": 100_000}}, "max_tokens"),
    ({"chatgpt_settings": {"model": "m", "stream": True}}, "stream"),
    ({"chatgpt_settings": {"prompt": "p" * 2001}}, "prompt"),
])
def test_warmup_text_and_chat_settings_are_bounded(tasks, config, field):
    refused(tasks, warmup(**config), field)


def test_the_chat_model_must_be_allowed(tasks):
    chat = {"base_url": CHAT, "model": "gpt-4-32k"}
    refused(tasks, warmup(generate_by_chatgpt=True, comment_probable=50, chatgpt_settings=chat),
            "chatgpt_settings.model", "gpt-4-32k")
    chat["model"] = "m"
    assert tasks.plan(warmup(generate_by_chatgpt=True, chatgpt_settings=chat), NOW, random.Random(1))


@pytest.mark.parametrize("config, words", [
    ({"target_users": ["a" * 31]}, ["30 characters"]),
    ({"target_user": "ok," + "b" * 40}, ["30 characters"]),
])
def test_usernames_are_bounded(tasks, config, words):
    refused(tasks, TaskRequest(serials=["s1"], script_name="follow", script_config=config), *words)


def test_a_sound_name_is_bounded(tasks):
    refused(tasks, TaskRequest(serials=["s1"], script_name="post", script_config={
        "post_way": "useSound", "sound_name": "s" * 301, "material_list": ["/x.jpg"]}), "sound_name")


def test_tasks_times_config_bytes_is_bounded_before_fan_out(tasks):
    """40 phones x a 2,000-character caption is over the 64 KiB of this service: refused before any
    material is looked at (the files do not exist)."""
    refused(tasks, post("c" * 2000, serials=[f"s{i}" for i in range(40)]), "PHONEFARM_MAX_REQUEST_CONFIG_BYTES")
    refused(tasks, warmup([f"s{i}" for i in range(40)], comment="\n".join(["w" * 150] * 20)),
            "PHONEFARM_MAX_REQUEST_CONFIG_BYTES")


def test_follow_targets_count_one_each_against_the_byte_bound(tasks):
    targets = [f"user{i}" for i in range(40)]
    planned = tasks.plan(TaskRequest(serials=["s1"], script_name="follow",
                                     script_config={"target_users": targets}), NOW, random.Random(1))
    assert len(planned) == 40


def test_accounts_per_phone_are_capped_for_multi_account_requests(tasks, index):
    for i in range(4):
        index.accounts.save_account(Account(f"acct{i}", "tiktok", "s1", True))
    refused(tasks, TaskRequest(serials=["s1"], script_name="account_warmup", script_config={},
                               enable_multi_account=True), "4 enabled accounts", "PHONEFARM_MAX_ACCOUNTS_PER_PHONE")


@pytest.mark.parametrize("text", ["abc", "{a|bbb}c", "{a|{bb|cccc}}x", "{a|b", "a}b|c", "{x{a|bb}|c", "{{a|b}|ccc}{d|ee}"])
def test_longest_is_the_longest_spin(text):
    assert longest(text) == max(len(spin(text, random.Random(seed))) for seed in range(200))


def test_the_byte_bound_counts_a_caption_as_stored():
    """Each task stores its spun caption as JSON: quotes and emoji count for what they take there."""
    caption = '{"quoted"|😀😀😀}\n' * 10
    config = PostConfig.model_validate({"captions": caption, "material_list": ["/x.jpg"]}).model_dump()
    spun = [spin(caption, random.Random(seed)) for seed in range(50)]
    stored = max(len(json.dumps({**config, "captions": s}, ensure_ascii=False).encode()) for s in spun)
    assert _task_config_bytes("post", config) >= stored
