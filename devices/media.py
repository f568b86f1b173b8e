"""Putting server files into a phone's camera roll (push + media-store scan) and taking them out again."""

from __future__ import annotations

import pathlib
import re
import secrets

from devices.errors import ScriptFailed
from devices.phone import Phone

CAMERA_DIR = "/sdcard/DCIM/Camera"
_MIME = {"mp4": "video/mp4", "mov": "video/quicktime", "m4v": "video/mp4", "3gp": "video/3gpp",
         "webm": "video/webm", "mkv": "video/x-matroska", "jpg": "image/jpeg", "jpeg": "image/jpeg",
         "png": "image/png", "webp": "image/webp", "gif": "image/gif", "heic": "image/heic"}


def remote_name(local: pathlib.Path) -> str:
    # The phone-side name is ours, never the server file's name, so nothing user-chosen lands in it.
    extension = re.sub(r"[^a-z0-9]", "", local.suffix.lower())[:5] or "bin"
    return f"phonefarm_{secrets.token_hex(6)}.{extension}"


def push_media(phone: Phone, files: list[pathlib.Path], pushed: list[str]) -> None:
    """Push each file; `pushed` grows as files land, so the caller can clean up after a partial failure."""
    for local in files:
        remote = f"{CAMERA_DIR}/{remote_name(local)}"
        pushed.append(remote)  # before the push: a half-written file must be removed too
        phone.push(local, remote)
    scan(phone)


def scan(phone: Phone) -> None:
    """Android 10+: have the media store index (or forget) what changed under shared storage."""
    output = phone.shell(["content", "call", "--uri", "content://media", "--method", "scan_volume",
                          "--arg", "external_primary"], timeout=60)
    if "Error" in output or "ERROR" in output:
        raise ScriptFailed(f"the media scan failed on phone {phone.serial}: {output.strip()[:200]}")


def content_uri(phone: Phone, remote: str) -> str:
    name = remote.rsplit("/", 1)[-1]
    output = phone.shell(["content", "query", "--uri", "content://media/external/file", "--projection", "_id",
                          "--where", f"_display_name='{name}'"], timeout=30)
    match = re.search(r"_id=(\d+)", output)
    if not match:
        raise ScriptFailed(f"{name} is not in the media store of phone {phone.serial} after the scan")
    kind = "video" if mime_type(remote).startswith("video/") else "images"
    return f"content://media/external/{kind}/media/{match.group(1)}"


def mime_type(path: str) -> str:
    return _MIME.get(path.rsplit(".", 1)[-1].lower(), "application/octet-stream")


def remove_media(phone: Phone, remotes: list[str]) -> None:
    if remotes:
        phone.shell(["rm", "-f", *remotes], timeout=30)
        scan(phone)
