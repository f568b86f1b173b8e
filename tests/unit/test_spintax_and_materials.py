"""Spintax and the choice of post materials, without a service."""

from __future__ import annotations

import random

import pytest

from api.domain.errors import ApiError
from api.domain.materials import IMAGE, VIDEO, candidates, media_kind, pick
from api.domain.spintax import MAX_DEPTH, SpintaxTooDeep, spin
from contract.script_configs import PostConfig

MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16


def test_spin_picks_one_option_per_group_innermost_first():
    rng = random.Random(3)
    results = {spin("{Hi|Hello} {there|{you|all}}!", rng) for _ in range(200)}
    assert results == {f"{a} {b}!" for a in ("Hi", "Hello") for b in ("there", "you", "all")}
    assert spin("no groups | here", rng) == "no groups | here"


def test_media_kind_reads_the_first_bytes(tmp_path):
    (tmp_path / "v.jpg").write_bytes(MP4)  # a video with an image's name is still a video
    (tmp_path / "i.bin").write_bytes(JPEG)
    (tmp_path / "t.mp4").write_text("not media")
    assert media_kind(tmp_path / "v.jpg") == VIDEO
    assert media_kind(tmp_path / "i.bin") == IMAGE
    assert media_kind(tmp_path / "t.mp4") is None
    assert media_kind(tmp_path / "missing") is None


def test_library_tags_are_folder_names(tmp_path):
    for folder, name in [("cats", "a.mp4"), ("cats/funny", "b.mp4"), ("dogs", "c.mp4")]:
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / name).write_bytes(MP4)
    config = PostConfig(materials_tags="funny, dogs").model_dump()
    assert sorted(p.name for p in candidates(config, tmp_path)) == ["b.mp4", "c.mp4"]
    everything = candidates(PostConfig().model_dump(), tmp_path)
    assert len(everything) == 3
    [chosen] = pick(PostConfig().model_dump(), everything, random.Random(1))
    assert chosen in {str(p) for p in everything}


def test_images_take_image_count(tmp_path):
    for i in range(4):
        (tmp_path / f"{i}.jpg").write_bytes(JPEG)
    config = PostConfig(content_type=1, image_count=3, material_source="localFolder", material_path=str(tmp_path)).model_dump()
    files = candidates(config, tmp_path / "library", extra_roots=(tmp_path,))
    assert len(pick(config, files, random.Random(1))) == 3


@pytest.mark.parametrize("config", [
    {"material_list": ["nope.mp4"]},
    {"material_source": "localFolder", "material_path": "nope"},
    {"content_type": 1},  # the library holds only a video
])
def test_unusable_materials_are_refused(tmp_path, config):
    (tmp_path / "v").mkdir()
    (tmp_path / "v" / "only.mp4").write_bytes(MP4)
    with pytest.raises(ApiError) as refused:
        candidates(PostConfig(**config).model_dump(), tmp_path)
    assert refused.value.code == 40001


@pytest.fixture
def roots(tmp_path):
    """A library and an extra root with a video each, and a secret file outside both."""
    library, extra, outside = tmp_path / "library", tmp_path / "extra", tmp_path / "outside"
    for folder in (library, extra, outside):
        folder.mkdir()
        (folder / "clip.mp4").write_bytes(MP4)
    (outside / "secret.key").write_bytes(b"\x00\x00\x00\x18ftypmp42 not really")
    (library / "escape.mp4").symlink_to(outside / "clip.mp4")
    (library / "escape-dir").symlink_to(outside)
    return library, extra, outside


def test_materials_from_the_library_and_allowed_roots(roots):
    library, extra, _ = roots
    config = PostConfig(material_list=["clip.mp4", str(extra / "clip.mp4")]).model_dump()
    assert candidates(config, library, (extra,)) == [library / "clip.mp4", extra / "clip.mp4"]
    # A symlink out of the library is never picked from the library or a folder either.
    assert candidates(PostConfig().model_dump(), library, (extra,)) == [library / "clip.mp4"]


@pytest.mark.parametrize("config", [
    {"material_list": ["../outside/clip.mp4"]},
    {"material_list": ["escape.mp4"]},
    {"material_list": ["escape-dir/secret.key"]},
    {"material_list": ["/etc/passwd"]},
    {"material_source": "localFolder", "material_path": "escape-dir"},
    {"material_source": "localFolder", "material_path": "/etc"},
    {"material_source": "localFolder", "material_path": ".."},
])
def test_paths_out_of_the_roots_are_refused(roots, config):
    library, extra, _ = roots
    with pytest.raises(ApiError) as refused:
        candidates(PostConfig(**config).model_dump(), library, (extra,))
    assert refused.value.code == 40001 and "outside the material folders" in refused.value.message


def test_spin_is_linear_and_unpaired_braces_stay():
    rng = random.Random(3)
    big = "{a|b} " * 100_000 + "}{ {x"  # 600 kB: the old search-and-splice loop took minutes
    spun = spin(big, rng)
    assert len(spun) == 2 * 100_000 + 5 and spun.endswith("}{ {x") and set(spun[:-5]) <= {"a", "b", " "}
    assert spin("{a{b|b}", rng) == "{ab"


def test_spin_refuses_absurd_nesting():
    assert spin("{" * MAX_DEPTH + "x" + "}" * MAX_DEPTH, random.Random(1)) == "x"
    with pytest.raises(SpintaxTooDeep):
        spin("{" * (MAX_DEPTH + 1) + "x" + "}" * (MAX_DEPTH + 1), random.Random(1))
