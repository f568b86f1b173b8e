"""A simulated MediaStore: files are visible to apps only after a scan, and the `content` command."""

from __future__ import annotations

import posixpath
import re
import threading

_VIDEO_EXTENSIONS = {"mp4", "mov", "m4v", "3gp", "webm", "mkv"}
_IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp", "gif", "heic"}
_URI_ID = re.compile(r"^content://media/external(?:_primary)?/(?:video|images|file)/(?:media/)?(\d+)$")


def kind_of(path: str) -> str | None:
    extension = posixpath.splitext(path)[1].lstrip(".").lower()
    if extension in _VIDEO_EXTENSIONS:
        return "video"
    if extension in _IMAGE_EXTENSIONS:
        return "images"
    return None


class MediaStore:
    """id -> path of indexed files under /sdcard; ids grow, so the newest file has the largest id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._items: dict[int, str] = {}
        self._next_id = 1000

    def scan(self, fs) -> int:
        with self._lock:
            present = [path for path in fs.paths() if path.startswith("/sdcard/") and kind_of(path)]
            for media_id in [media_id for media_id, path in self._items.items() if path not in present]:
                del self._items[media_id]
            known = set(self._items.values())
            for path in present:
                if path not in known:
                    self._items[self._next_id] = path
                    self._next_id += 1
            return len(self._items)

    def newest_first(self) -> list[tuple[int, str]]:
        with self._lock:
            return sorted(self._items.items(), reverse=True)

    def path_for_uri(self, uri: str) -> str | None:
        match = _URI_ID.match(uri)
        with self._lock:
            return self._items.get(int(match.group(1))) if match else None

    def id_for_name(self, display_name: str) -> int | None:
        with self._lock:
            return next((media_id for media_id, path in self._items.items()
                         if posixpath.basename(path) == display_name), None)


def content_command(phone, args: list[str]) -> tuple[str, int]:
    """`content call ... --method scan_volume` and `content query ... --where "_display_name='x'"`."""
    options = {args[i]: args[i + 1] for i in range(1, len(args) - 1) if args[i].startswith("--")}
    if args[:1] == ["call"] and options.get("--method") == "scan_volume":
        phone.media_store.scan(phone.fs)
        return "Result: Bundle[{}]\n", 0
    if args[:1] == ["query"]:
        match = re.fullmatch(r"_display_name='([^']*)'", options.get("--where", ""))
        media_id = phone.media_store.id_for_name(match.group(1)) if match else None
        if media_id is None:
            return "No result found.\n", 0
        return f"Row: 0 _id={media_id}\n", 0
    return f"[ERROR] Unsupported operation: {' '.join(args[:1])}\n", 1
