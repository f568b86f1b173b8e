"""A PostgreSQL server for Prefect, kept under the data directory: no TCP port, a socket only its user reaches."""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Optional
from urllib.parse import quote

from api.supervision.children import Child
from api.supervision.hangs import command_check

DB_USER = "phonefarm"  # Prefect's: owns its database, no superuser (a server bug or a stolen password stays there)
DB_NAME = "prefect"
ADMIN_USER = "phonefarm_admin"  # the cluster's superuser: makes the role and the database, moves data in
# PostgreSQL refuses to run as root; Debian's package makes this user.
SERVER_USER = "postgres"


class PostgresMissing(Exception):
    """PostgreSQL cannot run here: no server binaries, or its user cannot reach the data directory."""


def find_bin_dir(configured: Optional[Path] = None) -> Path:
    """Debian's `postgresql` package puts them in /usr/lib/postgresql/<major>/bin: the newest wins."""
    candidates = [configured] if configured else []
    candidates += sorted((Path(p) for p in glob.glob("/usr/lib/postgresql/*/bin")),
                         key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(os.path.realpath(on_path)).parent)
    for candidate in candidates:
        if candidate and (candidate / "postgres").exists() and (candidate / "initdb").exists():
            return candidate
    raise PostgresMissing("PostgreSQL's server is not installed: `apt-get install postgresql` (Debian), or set "
                          "PHONEFARM_POSTGRES_BIN_DIR, or give an existing server's URL in PREFECT_API_DATABASE_CONNECTION_URL")


@dataclass(frozen=True)
class PostgresCluster:
    """<data-dir>/postgres: the cluster, its socket folder and the password of its one user."""

    root: Path
    bin_dir: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "socket"

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def admin_password_file(self) -> Path:
        return self.root / "admin-password"

    def admin(self) -> tuple[str, Path]:
        """The superuser and its password file; a cluster made before the split has only DB_USER."""
        return (ADMIN_USER, self.admin_password_file) if self.admin_password_file.exists() else (DB_USER, self.password_file)

    def _owner(self) -> Optional[tuple[int, int]]:
        """(uid, gid) to run as: our own when we are not root."""
        if os.geteuid() != 0:
            return None
        user = pwd.getpwnam(SERVER_USER)
        return user.pw_uid, user.pw_gid

    def initialize(self) -> None:
        """Create the cluster the first time: password (scram) logins only, over the socket only."""
        if (self.data / "PG_VERSION").exists():
            return
        owner = self._owner()
        self.root.mkdir(parents=True, exist_ok=True)
        self.let_server_through()
        for folder in (self.data, self.socket_dir):
            folder.mkdir(exist_ok=True)
            os.chmod(folder, 0o700)
            if owner:
                os.chown(folder, *owner)
        for password in (self.password_file, self.admin_password_file):
            if not password.exists():
                password.write_text(secrets.token_urlsafe(24))
                os.chmod(password, 0o600)
        pwfile = self.root / "initdb-password"
        pwfile.write_text(self.admin_password_file.read_text())
        if owner:
            os.chown(pwfile, *owner)
        try:
            subprocess.run([str(self.bin_dir / "initdb"), "-D", str(self.data), "-U", ADMIN_USER, "--pwfile", str(pwfile),
                            "--auth=scram-sha-256", "--encoding=UTF8", "--no-instructions"],
                           check=True, capture_output=True, **self._as_owner(owner))
        except subprocess.CalledProcessError as error:
            raise RuntimeError(f"initdb failed: {error.stderr.decode(errors='replace')[-500:]}") from None
        finally:
            pwfile.unlink(missing_ok=True)

    def let_server_through(self) -> None:
        """The server's user must pass through the data directory (0700, ours) to reach its own
        folders: its group may traverse the data directory and this one (0710), nothing more."""
        owner = self._owner()
        self.root.mkdir(parents=True, exist_ok=True)
        if owner is None:
            return
        for folder in (self.root.parent, self.root):
            os.chown(folder, -1, owner[1])
            os.chmod(folder, os.stat(folder).st_mode & 0o700 | 0o010)
        uid, gid = owner
        for ancestor in self.root.parent.parents:
            mode = os.stat(ancestor)
            if not (mode.st_mode & 0o001 or (mode.st_gid == gid and mode.st_mode & 0o010)
                    or (mode.st_uid == uid and mode.st_mode & 0o100)):
                raise PostgresMissing(
                    f"PostgreSQL runs as the user {SERVER_USER}, which cannot pass through {ancestor} to reach the "
                    f"data directory: use a data directory it can reach, let it through (`setfacl -m u:{SERVER_USER}:x "
                    f"{ancestor}`), or give an existing server's URL in PREFECT_API_DATABASE_CONNECTION_URL")

    @staticmethod
    def _as_owner(owner: Optional[tuple[int, int]]) -> dict:
        return {"user": owner[0], "group": owner[1], "extra_groups": []} if owner else {}

    def child(self, log_path: Path, env: dict[str, str]) -> Child:
        self.let_server_through()
        argv = [str(self.bin_dir / "postgres"), "-D", str(self.data),
                "-c", "listen_addresses=", "-c", f"unix_socket_directories={self.socket_dir}",
                "-c", "unix_socket_permissions=0700", "-c", "max_connections=100",
                "-c", "fsync=on", "-c", "synchronous_commit=off"]
        ready = command_check(self._ready_argv(), timeout=3)
        return Child("postgres", argv, env, log_path, run_as=self._owner(), health_check=ready)

    def _ready_argv(self) -> list[str]:
        return [str(self.bin_dir / "pg_isready"), "-h", str(self.socket_dir), "-U", DB_USER, "-q", "-t", "2"]

    def ready(self) -> bool:
        result = subprocess.run(self._ready_argv(), capture_output=True)
        return result.returncode == 0

    def ensure_database(self) -> None:
        """Prefect's role (no superuser, no CREATEDB, no CREATEROLE) and its database, which it owns."""
        if self.admin()[0] == DB_USER:
            return self._ensure_owned_database()  # an older cluster: its one user is Prefect's
        password = self.password_file.read_text().strip()
        if self.sql(f"SELECT 1 FROM pg_roles WHERE rolname = '{DB_USER}'") != "1":
            self.sql(f"CREATE ROLE {DB_USER} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{password}'")
        self._ensure_owned_database()

    def _ensure_owned_database(self) -> None:
        if self.sql(f"SELECT 1 FROM pg_database WHERE datname = '{DB_NAME}'") != "1":
            self.sql(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}")
            self.sql(f"REVOKE ALL ON DATABASE {DB_NAME} FROM PUBLIC")

    def sql(self, statement: str, database: str = "postgres") -> str:
        """One statement as the cluster's superuser, over the socket; its output's text."""
        user, password = self.admin()
        done = subprocess.run(
            [str(self.bin_dir / "psql"), "-h", str(self.socket_dir), "-U", user, "-d", database, "-tAc", statement],
            env={**os.environ, "PGPASSWORD": password.read_text().strip()}, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"PostgreSQL refused {statement.split(' PASSWORD ')[0]!r}: {done.stderr[-500:]}")
        return done.stdout.strip()

    def url(self, admin: bool = False) -> str:
        """Prefect's connection URL (or the superuser's, for a move of data): asyncpg over the socket folder."""
        user, password_file = self.admin() if admin else (DB_USER, self.password_file)
        password = quote(password_file.read_text(), safe="")
        return f"postgresql+asyncpg://{user}:{password}@/{DB_NAME}?host={quote(str(self.socket_dir))}"
