"""The comment script through the API: one task per phone and post URL, each comment received by the simulated app."""

from __future__ import annotations

TT1 = "https://www.tiktok.com/@alice/video/7301234567890123456"
TT2 = "https://vm.tiktok.com/ZMabc123/"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 64


def test_two_posts_on_two_phones_get_the_comments_in_order_with_an_image(service, phones):
    serials = phones.take(2)
    # The data directory is the service's alone (tests/test_file_modes.py): as private as what it makes.
    (service.data_dir / "materials").mkdir(mode=0o700, exist_ok=True)
    (service.data_dir / "materials" / "comments").mkdir(mode=0o700, exist_ok=True)
    (service.data_dir / "materials" / "comments" / "smile.jpg").write_bytes(JPEG)
    (service.data_dir / "materials" / "comments" / "smile.jpg").chmod(0o600)
    data = service.ok("POST", "/task", json={
        "serials": serials, "script_name": "comment",
        "script_config": {"target_post_url": f"{TT1}?is_from_webapp=1,\n{TT2}", "comment_content": "first\nsecond\nthird",
                          "comment_order": "sequential", "comment_image_path": "comments/smile.jpg"},
    })
    assert len(data["task_ids"]) == 4
    tasks = [service.wait_for(task_id, timeout=90) for task_id in data["task_ids"]]
    assert [t["status"] for t in tasks] == [2, 2, 2, 2], tasks
    assert [(t["serial"], t["script_name"], t["script_config"]["target_post_urls"], t["script_config"]["comment_content"])
            for t in tasks] == [(serials[0], "comment", [TT1], "first"), (serials[0], "comment", [TT2], "second"),
                                (serials[1], "comment", [TT1], "third"), (serials[1], "comment", [TT2], "first")]
    assert phones[serials[0]].engaged("comment", "tiktok") == [("@alice/video/7301234567890123456", "first"),
                                                               ("ZMabc123", "second")]
    assert phones[serials[1]].engaged("comment", "tiktok") == [("@alice/video/7301234567890123456", "third"),
                                                               ("ZMabc123", "first")]
    assert len(phones[serials[1]].engaged("comment_image", "tiktok")) == 2
    listed = service.ok("GET", f"/task?script_name=comment&serial={serials[0]}")
    assert sorted(t["id"] for t in listed["tasks"]) == sorted(data["task_ids"][:2]), listed


def test_missing_content_or_url_is_40001(service, phones):
    [serial] = phones.take()
    for config, words in (({"target_post_url": TT1}, "comment_content is required"),
                          ({"comment_content": "hi"}, "target_post_urls or target_post_url is required")):
        status, body = service.call("POST", "/task", json={"serials": [serial], "script_name": "comment",
                                                          "script_config": config})
        assert (status, body["code"]) == (400, 40001) and words in body["message"], body
