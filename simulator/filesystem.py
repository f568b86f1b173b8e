"""A tiny in-memory filesystem for files pushed to, pulled from, or written on a simulated phone."""

from __future__ import annotations

import stat
import threading
import time
from dataclasses import dataclass

_BASE_DIRECTORIES = ("/", "/sdcard", "/sdcard/DCIM", "/sdcard/DCIM/Camera", "/sdcard/Download",
                     "/data", "/data/local", "/data/local/tmp", "/storage", "/storage/emulated",
                     "/storage/emulated/0")


@dataclass(frozen=True)
class FileStat:
    mode: int
    size: int
    mtime: int


class VirtualFilesystem:
    """Files are a path -> bytes dict; a directory exists if it is a base one or holds a file."""

    def __init__(self):
        self._lock = threading.RLock()
        self._files: dict[str, tuple[bytes, int, int]] = {}

    @staticmethod
    def normalise(path: str) -> str:
        parts = [part for part in path.split("/") if part not in ("", ".")]
        return "/" + "/".join(parts)

    def write(self, path: str, data: bytes, mode: int = 0o644) -> None:
        with self._lock:
            self._files[self.normalise(path)] = (bytes(data), mode & 0o7777, int(time.time()))

    def read(self, path: str) -> bytes | None:
        with self._lock:
            entry = self._files.get(self.normalise(path))
            return entry[0] if entry else None

    def remove(self, path: str) -> bool:
        with self._lock:
            return self._files.pop(self.normalise(path), None) is not None

    def remove_tree(self, path: str) -> None:
        prefix = self.normalise(path).rstrip("/") + "/"
        with self._lock:
            for name in [name for name in self._files if name.startswith(prefix)]:
                del self._files[name]
            self._files.pop(self.normalise(path), None)

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def is_dir(self, path: str) -> bool:
        path = self.normalise(path)
        if path in _BASE_DIRECTORIES:
            return True
        prefix = path.rstrip("/") + "/"
        with self._lock:
            return any(name.startswith(prefix) for name in self._files)

    def stat(self, path: str) -> FileStat | None:
        path = self.normalise(path)
        with self._lock:
            entry = self._files.get(path)
        if entry:
            data, mode, mtime = entry
            return FileStat(stat.S_IFREG | mode, len(data), mtime)
        if self.is_dir(path):
            return FileStat(stat.S_IFDIR | 0o771, 4096, int(time.time()))
        return None

    def list_dir(self, path: str) -> dict[str, FileStat]:
        prefix = self.normalise(path).rstrip("/") + "/"
        children: dict[str, FileStat] = {}
        candidates = list(_BASE_DIRECTORIES) + self.paths()
        for candidate in candidates:
            if candidate.startswith(prefix) and candidate != prefix:
                name = candidate[len(prefix):].split("/")[0]
                child = self.stat(prefix + name)
                if child:
                    children[name] = child
        return children

    def list(self, path: str) -> list[str]:
        """Names directly inside a directory, sorted (a convenience for tests)."""
        return sorted(self.list_dir(path))
