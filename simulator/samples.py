"""Tiny sample media for a farm of simulated phones, so post examples work on a fresh machine."""

from __future__ import annotations

from pathlib import Path

# Just enough of each format for a media sniffer and the simulated media store.
SAMPLES = {
    "sample.mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 64,
    "sample1.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9",
    "sample2.jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x01" * 64 + b"\xff\xd9",
}


def write_sample_materials(library: Path) -> None:
    """Fill `library/sample/` (tag "sample") unless the library already has files."""
    if library.is_dir() and any(p.is_file() for p in library.rglob("*")):
        return
    folder = library / "sample"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in SAMPLES.items():
        (folder / name).write_bytes(data)
