"""How much room the disk under the data directory has left: writes are refused before it runs out."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


class StorageFull(Exception):
    """The disk holding the service's data (the index, Prefect's database, the logs) has no room for a write."""

    def __init__(self, path: Path, free_mb: float, min_free_mb: int):
        super().__init__(f"the disk holding {path} is full: {free_mb:.0f} MB free, {min_free_mb} MB needed")
        self.path = path
        self.free_mb = free_mb
        self.min_free_mb = min_free_mb


def is_storage_full(error: BaseException) -> bool:
    """SQLite's "database or disk is full", from the index (Prefect's server answers it as a 500)."""
    return isinstance(error, sqlite3.OperationalError) and getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


class DiskSpace:
    def __init__(self, path: Path, min_free_mb: int):
        self.path = Path(path)
        self.min_free_mb = min_free_mb

    def free_mb(self) -> float:
        stats = os.statvfs(self.path)
        return stats.f_bavail * stats.f_frsize / 2**20

    def full(self) -> bool:
        return self.free_mb() < self.min_free_mb

    def ensure_room(self) -> None:
        refusal = self.refusal()
        if refusal.free_mb < self.min_free_mb:
            raise refusal

    def refusal(self) -> StorageFull:
        """The error for a write that failed because the disk filled up under it."""
        return StorageFull(self.path, self.free_mb(), self.min_free_mb)
