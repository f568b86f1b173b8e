"""The index's SQLite database: one connection per thread, one writer at a time, shared by the index's parts."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional

import sqlite_utils


class IndexDb:
    """Opens one connection per thread (waitress serves from several) on a WAL database."""

    def __init__(self, path: Path, schema: str = "",
                 upgrade: Optional[Callable[[sqlite_utils.Database], None]] = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._writer = threading.RLock()
        if schema:
            self.db.conn.executescript(schema)
        if upgrade is not None:
            upgrade(self.db)

    @property
    def db(self) -> sqlite_utils.Database:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite_utils.Database(self.path)
            db.conn.execute("PRAGMA busy_timeout = 10000")
            db.enable_wal()
            self._local.db = db
        return db

    @contextmanager
    def writing(self) -> Iterator[sqlite3.Connection]:
        """A transaction, one writer of this process at a time. SQLite's own wait for its write lock
        sleeps and tries again, so under fifty clients a writer lost to newcomers again and again
        (creates and deletes took up to 5 s); a lock here hands it over in turn."""
        with self._writer, self.db.conn as conn:
            yield conn

    def identity(self) -> str:
        """A name made once for this index: tells its runs from other indexes' on a shared Prefect server."""
        with self.writing():
            self.db.conn.execute("INSERT OR IGNORE INTO settings (key, value) VALUES ('index_id', ?)", [uuid.uuid4().hex])
        return self.db.execute("SELECT value FROM settings WHERE key = 'index_id'").fetchone()[0]


class IndexPart:
    """One table (or one kind of read) of the index, over the database it shares with the other parts."""

    def __init__(self, store: IndexDb):
        self.store = store

    @property
    def db(self) -> sqlite_utils.Database:
        return self.store.db

    def writing(self):
        return self.store.writing()

    def identity(self) -> str:
        return self.store.identity()
