"""Refusals name what the caller sent and the settings involved, never the server's absolute paths."""

from __future__ import annotations

from types import SimpleNamespace

import falcon
import falcon.testing
import pytest

from api.domain import materials
from api.domain.errors import ApiError
from api.gateways.disk import DiskSpace
from api.rest import errors
from api.rest.middleware import DiskGuard


@pytest.mark.parametrize("config", [
    {"material_list": ["/etc/hostname"]},
    {"material_source": "localFolder", "material_path": "/etc"},
    {"materials_tags": "nothing-here"},
])
def test_material_refusals_name_no_server_folder(tmp_path, config):
    library, extra = tmp_path / "secret-layout" / "materials", tmp_path / "other-root"
    library.mkdir(parents=True)
    extra.mkdir()
    full = {"content_type": 0, "material_list": [], "material_source": "materialLibrary", "material_path": "",
            "materials_tags": "", **config}
    with pytest.raises(ApiError) as refused:
        materials.candidates(full, library, (extra,))
    assert str(tmp_path) not in refused.value.message, refused.value.message


def test_a_full_disk_answer_names_no_server_folder(tmp_path):
    disk = DiskSpace(tmp_path, 10**9)
    app = falcon.App(middleware=[DiskGuard(disk)])
    errors.install(app, disk)
    app.add_route("/x", SimpleNamespace(on_post=lambda req, resp: None))
    answer = falcon.testing.TestClient(app).simulate_post("/x")
    assert answer.json["code"] == 50301 and "data directory is full" in answer.json["message"]
    assert str(tmp_path) not in answer.json["message"], answer.json


