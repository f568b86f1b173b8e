"""What a post may publish, checked where the files are chosen (the API) and again where they are
used (the flow): media by their first bytes, and only files inside the material folders."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

VIDEO, IMAGE = 0, 1
_SNIFF_BYTES = 16


def media_kind(path: Path) -> int | None:
    """VIDEO, IMAGE or None, from the file's first bytes (a name can lie)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES)
    except OSError:
        return None
    if head.startswith(b"\xff\xd8\xff") or head.startswith(b"\x89PNG\r\n\x1a\n") or head[:6] in (b"GIF87a", b"GIF89a"):
        return IMAGE
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return IMAGE
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free") or head.startswith(b"\x1a\x45\xdf\xa3"):
        return VIDEO
    return None


def inside_roots(path: Path, roots: Iterable[Path]) -> bool:
    """After following every symlink and `..`, the path lies in one of the roots."""
    real = Path(path).resolve()
    return any(real.is_relative_to(Path(root).resolve()) for root in roots)


def refused_files(files: Iterable[str], roots: list[Path]) -> list[str]:
    """Files a post may not publish: outside the material folders, or not media."""
    return [name for name in files if not inside_roots(Path(name), roots) or media_kind(Path(name)) is None]
