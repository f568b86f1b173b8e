"""Move a stopped farm's Prefect database from SQLite to the PostgreSQL server it will start: every row, every id."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

from prefect.server.database import orm_models
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import create_async_engine

from api.settings import Settings
from api.supervision.children import Supervisor
from api.supervision.processes import StartupFailed, prefect_env
from api.supervision.steps import hold_data_dir, start_postgres
from worker.prefect_compat import share_tls_contexts

BATCH = 500


def migrate_to_postgresql(settings: Settings) -> dict[str, int]:
    """Copy <data-dir>/prefect/prefect.db into the farm's own PostgreSQL (made here), table by table
    with Prefect's own table definitions, so every flow run keeps its id and the index stays right.
    The farm must be stopped. Its SQLite file (every Secret block with the key that opens it) is deleted
    once PostgreSQL is counted to hold every row; otherwise it is kept, its user's alone, as
    prefect.db.before-postgresql. Returns the rows copied per table."""
    lock = hold_data_dir(settings.data_dir)
    home = settings.data_dir / "prefect"
    sqlite_file, marker = home / "prefect.db", home / "database"
    if (marker.read_text().strip() if marker.exists() else "sqlite") != "sqlite" or not sqlite_file.exists():
        raise StartupFailed(f"{settings.data_dir} has no SQLite Prefect database to move")
    logs = settings.data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    share_tls_contexts()
    children: list = []
    supervisor = Supervisor(children)
    try:
        sqlite_url = f"sqlite+aiosqlite:///{sqlite_file.resolve()}"
        cluster = start_postgres(settings, logs, children)
        url = cluster.url()
        # Both at this Prefect's latest schema (each dialect has its own chain of revisions): the
        # same tables on both sides.
        _upgrade(settings, sqlite_url, logs)
        _upgrade(settings, url, logs)
        # As the superuser: a replica session (below) is a superuser's; the tables stay Prefect's role's.
        copied = asyncio.run(_copy(sqlite_url, cluster.url(admin=True)))
        verified = asyncio.run(_counts(cluster.url(admin=True))) == copied
        marker.write_text("postgresql")
        if verified:
            for leftover in home.glob("prefect.db*"):
                leftover.unlink()
        else:
            sqlite_file.rename(home / "prefect.db.before-postgresql")
            (home / "prefect.db.before-postgresql").chmod(0o600)
        return copied
    finally:
        supervisor.stop()
        lock.close()


def _upgrade(settings: Settings, url: str, logs: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "PHONEFARM_"))},
           **prefect_env(settings), "PREFECT_API_DATABASE_CONNECTION_URL": url}
    with open(logs / "migration.log", "ab") as out:
        done = subprocess.run([sys.executable, "-m", "prefect", "server", "database", "upgrade", "-y"],
                              env=env, stdout=out, stderr=subprocess.STDOUT, timeout=600)
    if done.returncode != 0:
        raise StartupFailed(f"Prefect could not bring a database to its schema; see {logs / 'migration.log'}")


async def _counts(url: str) -> dict[str, int]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as reading:
            return {table.name: (await reading.execute(select(func.count()).select_from(table))).scalar_one()
                    for table in orm_models.Base.metadata.sorted_tables}
    finally:
        await engine.dispose()


async def _copy(source_url: str, target_url: str) -> dict[str, int]:
    source, target = create_async_engine(source_url), create_async_engine(target_url)
    try:
        tables = orm_models.Base.metadata.sorted_tables
        copied: dict[str, int] = {}
        async with target.begin() as writing:
            # Flow runs and their states point at each other: foreign keys are checked by triggers,
            # which a replica session skips.
            await writing.execute(text("SET session_replication_role = replica"))
            await writing.execute(text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " CASCADE"))
            async with source.connect() as reading:
                for table in tables:
                    copied[table.name] = 0
                    rows = await reading.stream(select(table))
                    async for batch in rows.mappings().partitions(BATCH):
                        await writing.execute(table.insert(), [dict(row) for row in batch])
                        copied[table.name] += len(batch)
        return copied
    finally:
        await source.dispose()
        await target.dispose()
