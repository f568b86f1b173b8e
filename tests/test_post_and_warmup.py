"""post and account_warmup through the API, on simulated TikTok and Instagram."""

from __future__ import annotations

import json
import uuid

import pytest

JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_post_a_video_with_a_spun_caption(service, phones, video):
    [serial] = phones.take()
    phone = phones[serial]
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "post",
        "script_config": {"material_list": [str(video)], "captions": "{Hello|Hi} world #farm"},
    })
    task = service.wait_for(data["task_ids"][0], timeout=90)
    assert task["status"] == 2, task
    assert task["script_config"]["captions"] in ("Hello world #farm", "Hi world #farm")
    [post] = phone.published
    assert post["caption"] == task["script_config"]["captions"]
    assert not [p for p in phone.fs.list("/sdcard/DCIM/Camera") if "phonefarm" in p], "pushed file left behind"


def test_post_images_from_the_library_by_tag(service, phones):
    [serial] = phones.take()
    library = service.data_dir / "materials" / "cats"
    library.parent.mkdir(mode=0o700, exist_ok=True)  # private, as the service's own files (test_file_modes.py)
    library.mkdir(mode=0o700, exist_ok=True)
    for i in range(3):
        (library / f"cat{i}.jpg").write_bytes(JPEG)
        (library / f"cat{i}.jpg").chmod(0o600)
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "post",
        "script_config": {"content_type": 1, "image_count": 2, "materials_tags": "cats", "platform": "instagram",
                          "placement": "story"},
    })
    task = service.wait_for(data["task_ids"][0], timeout=90)
    assert task["status"] == 2, task
    assert len(task["script_config"]["files"]) == 2
    [post] = phones[serial].published
    assert post["platform"] == "instagram" and post["placement"] == "story"


@pytest.mark.parametrize("config, words", [
    ({"material_list": ["uploads/no-such-file.mp4"]}, "does not exist"),
    ({"material_list": ["/etc/hostname"]}, "outside the material folders"),
    ({"material_list": ["../../../../../../etc/passwd"]}, "outside the material folders"),
    ({"material_source": "localFolder", "material_path": "/etc"}, "outside the material folders"),
    ({"material_source": "localFolder", "material_path": "no/such/folder"}, "not a folder"),
    ({"materials_tags": "no-such-tag"}, "No video found"),
    ({"post_way": "useSound"}, "sound_name"),
])
def test_bad_material_is_refused_at_creation(service, phones, config, words):
    [serial] = phones.take()
    status, body = service.call("POST", "/task", json={"serials": [serial], "script_name": "post", "script_config": config})
    assert (status, body["code"]) == (400, 40001) and words in body["message"], body


def test_upload_that_never_finishes_fails_with_a_remark(service, phones, video):
    [serial] = phones.take()
    phones[serial].upload_never_finishes = True
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "post",
        "script_config": {"material_list": [str(video)], "upload_wait_time": 2},
    })
    task = service.wait_for(data["task_ids"][0], timeout=90)
    assert task["status"] == 3 and "did not finish" in task["remark"], task


def test_warmup_watches_likes_and_comments_from_a_chat_endpoint(service, phones, chat_endpoint):
    [serial] = phones.take()
    phone = phones[serial]
    api_key = f"sk-test-{uuid.uuid4().hex}"
    data = service.ok("POST", "/task", json={
        "serials": [serial], "script_name": "account_warmup",
        "script_config": {"task_duration": 6, "min_duration": 1, "max_duration": 1, "topic": "cooking\ndogs",
                          "like_probable": 100, "comment_probable": 100, "generate_by_chatgpt": True,
                          "chatgpt_settings": {"base_url": chat_endpoint.url, "api_key": api_key, "model": "m"}},
    })
    task = service.wait_for(data["task_ids"][0], timeout=90)
    assert task["status"] == 2, task
    # The key reached the endpoint, from its Prefect Secret block, and nowhere else shows it:
    # not the API's answers, not the run's parameters in the Prefect UI, no file of the service.
    assert f"Bearer {api_key}" in chat_endpoint.authorizations
    assert task["script_config"]["chatgpt_settings"]["api_key"].startswith("prefect-secret:chatgpt-key-")
    assert api_key not in json.dumps(service.ok("GET", "/task", params={"page_size": 100}))
    with service.prefect() as prefect:
        assert api_key not in json.dumps(prefect.read_flow_run(task["flow_run_id"]).parameters)
    leaks = [p for p in service.data_dir.rglob("*") if p.is_file() and api_key.encode() in p.read_bytes()]
    assert not leaks, leaks
    assert phone.watched and phone.searched_topics and phone.searched_topics[0] in ("cooking", "dogs")
    assert phone.engaged("like", "tiktok")
    assert any(text == "Generated remark" for _, text in phone.engaged("comment", "tiktok"))



def warmup_with_chat(serial, chat_settings) -> dict:
    return {"serials": [serial], "script_name": "account_warmup",
            "script_config": {"task_duration": 2, "min_duration": 1, "max_duration": 1, "like_probable": 0,
                              "comment_probable": 100, "comment": "template", "generate_by_chatgpt": True,
                              "chatgpt_settings": chat_settings}}


def test_a_stored_key_goes_only_to_its_own_endpoint(service, phones, chat_endpoint, other_chat_endpoint):
    """Anyone who can list tasks sees the key's reference; reused with another base_url (even an
    allowed one), it sends nothing there, and an endpoint off the allowlist is refused at once."""
    [serial] = phones.take()
    api_key = f"sk-test-{uuid.uuid4().hex}"
    [first] = service.ok("POST", "/task", json=warmup_with_chat(
        serial, {"base_url": chat_endpoint.url, "api_key": api_key}))["task_ids"]
    reference = service.task(first)["script_config"]["chatgpt_settings"]["api_key"]
    assert service.wait_for(first, timeout=90)["status"] == 2
    [stolen] = service.ok("POST", "/task", json=warmup_with_chat(
        serial, {"base_url": other_chat_endpoint.url, "api_key": reference}))["task_ids"]
    task = service.wait_for(stolen, timeout=90)
    assert task["status"] == 2, task  # it commented from its templates instead
    assert not any(api_key in (a or "") for a in other_chat_endpoint.authorizations)
    status, body = service.call("POST", "/task", json=warmup_with_chat(
        serial, {"base_url": "http://127.0.0.1:9/x#", "api_key": reference}))
    assert (status, body["code"]) == (400, 40001) and "not an allowed comment endpoint" in body["message"], body
