"""A failed task leaves a screenshot and the UI hierarchy that an operator can download."""

from __future__ import annotations

from tests.harness import until


def test_failed_task_has_screenshot_and_hierarchy(service, phones):
    [serial] = phones.take()
    phones[serial].missing_users.add("nobody-here")
    [task_id] = service.create([serial], ["nobody-here"])
    assert service.wait_for(task_id)["status"] == 3
    artifacts = {a["name"]: a for a in service.ok("GET", f"/task/{task_id}/artifacts")["artifacts"]}
    assert {"screenshot.png", "hierarchy.xml"} <= set(artifacts)
    png = service.http.get(artifacts["screenshot.png"]["url"], timeout=10)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert png.headers["Content-Type"] == "image/png"
    xml = service.http.get(artifacts["hierarchy.xml"]["url"], timeout=10)
    assert xml.status_code == 200 and b"hierarchy" in xml.content
    # The phone wrote it: plain text, never a document of the API's origin that could run a script.
    assert xml.headers["Content-Type"] == "text/plain; charset=utf-8"
    for answer in (png, xml):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in answer.headers["Content-Security-Policy"]


def test_artifacts_of_a_successful_task_and_unknown_names(service, phones):
    [serial] = phones.take()
    [task_id] = service.create([serial], ["fine"])
    task = service.wait_for(task_id)
    assert task["status"] == 2
    names = {a["name"] for a in service.ok("GET", f"/task/{task_id}/artifacts")["artifacts"]}
    if task["retry_count"] == 0:
        assert names == set()
    else:
        # Under load an attempt may fail on a transient phone error and be retried: the artifacts are
        # that attempt's, and its failure is in the task's log.
        lines = until(lambda: service.ok("GET", f"/task/{task_id}/logs", params={"page_size": 100})["logs"], 15,
                      "the failed attempt in the task's log",
                      accept=lambda lines: any("attempt 1 failed" in line["message"] for line in lines))
        assert names == {"screenshot.png", "hierarchy.xml"}, lines
    for name in ["nope.png", "..%2F..%2Findex.db"]:
        status, body = service.call("GET", f"/task/{task_id}/artifacts/{name}")
        assert (status, body["code"]) == (404, 40401)
    assert service.call("GET", "/task/999999/artifacts")[1]["code"] == 40401
