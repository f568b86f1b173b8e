"""The one settings object, read from the command line and the environment once at start-up."""

from __future__ import annotations

import ipaddress
import re
import socket
import zoneinfo
from pathlib import Path
from typing import Literal, Optional

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
import tzlocal

from api.domain.expiry import MAX_EXPIRE_AFTER
from api.domain.plans import PLANS
from devices.phone_lock import LOCKS_FOLDER
from contract.pcs import LIVE_SECONDS, SHORTEST_SILENCE
from contract.script_configs import DEFAULT_CHAT_MODEL
from contract.secrets import DEFAULT_CHAT_URL

MAX_AUTO_RETRY_DELAY = 600.0  # the run keeps its phone while it waits: ten minutes at most

def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Everything the service can be told; environment names are PHONEFARM_<FIELD>."""

    model_config = SettingsConfigDict(env_prefix="PHONEFARM_", extra="ignore", populate_by_name=True)

    # "all": the whole farm on this PC (API, Prefect server, worker, adb). "worker": a PC that only
    # has phones: its adb server and worker, on the Prefect server of the PC with the API (scale-out).
    role: Literal["all", "worker"] = "all"
    # This PC's name in the farm: its phones are listed under it, and only its worker runs their tasks.
    pc_name: str = Field(default_factory=socket.gethostname)
    host: str = "127.0.0.1"
    port: int = Field(50809, ge=0, le=65535)
    data_dir: Path = Path("./data")
    simulate: int = Field(0, ge=0, le=200)
    # Simulated phone i listens on 127.0.0.1:<this + i>, so its serial survives restarts like a real one's.
    # Below Linux's ephemeral range (32768-60999): a port there can sit in TIME_WAIT after any client
    # on the machine used it, and no socket option lets a listener take it then.
    simulator_first_port: int = Field(30001, ge=1024, le=65535 - 200)
    # The language the simulated apps speak, with the real apps' strings (simulator/locales.py).
    simulate_locale: Literal["en", "pl", "ja"] = "en"
    # Probability that a dismissable dialog (update prompt, permission, contacts sync...) covers a
    # simulated screen when it changes; seeded, so a run replays.
    simulate_interruptions: float = Field(0.0, ge=0, le=1)
    simulate_seed: int = 20261204
    # Real phones' quirks (a playing video blocks every UI dump until a tap pauses it; the first dump after a
    # screen opens is slow) and which TikTok build's resource-ids the simulated screens carry.
    simulate_quirks: bool = False
    simulate_app_version: Literal["43.1.4", "35.1.3"] = "43.1.4"
    # Required when `host` is not loopback. SecretStr: it never shows in a repr or a log line.
    api_token: Optional[SecretStr] = Field(None, min_length=16)
    # Port of the Prefect server started here (and of its UI); see prefect_host for its address.
    prefect_port: int = Field(4200, ge=0, le=65535)
    # Where that Prefect server listens: loopback, unless worker PCs must reach it (scale-out); it
    # always requires its auth string.
    prefect_host: str = "127.0.0.1"
    # An existing Prefect server to use instead of starting one (scale-out).
    prefect_api_url: Optional[str] = Field(
        None, validation_alias=AliasChoices("PHONEFARM_PREFECT_API_URL", "PREFECT_API_URL")
    )
    # Prefect's API auth string ("user:password"). Unset with a server of our own: one is made per data
    # directory (<data-dir>/prefect/auth-string, 0600). Give it for a shared server (scale-out).
    prefect_auth_string: Optional[SecretStr] = Field(
        None, validation_alias=AliasChoices("PHONEFARM_PREFECT_AUTH_STRING", "PREFECT_API_AUTH_STRING")
    )
    # TLS for the Prefect server started here: "auto" when prefect_host is not loopback. With it the
    # server stays on loopback (plain HTTP for this PC's own processes) and worker PCs reach it through
    # a TLS proxy on prefect_host:prefect_tls_port, with the farm's CA (<data-dir>/prefect/tls/ca.pem).
    prefect_tls: Literal["auto", "on", "off"] = "auto"
    prefect_tls_port: int = Field(4443, ge=0, le=65535)
    # On a worker PC: the farm's CA file (a copy of the API PC's ca.pem), trusted for an https prefect_api_url.
    prefect_ca_file: Optional[Path] = None
    # Prefect's database when the service starts its Prefect server: "sqlite" (a file under
    # data_dir, no set-up) or "postgresql" (a PostgreSQL server started and supervised here, under
    # data_dir/postgres, from the machine's PostgreSQL binaries).
    database: Literal["sqlite", "postgresql"] = "sqlite"
    # An existing database for that Prefect server instead (postgresql+asyncpg://...).
    prefect_database_url: Optional[SecretStr] = Field(
        None, validation_alias=AliasChoices("PHONEFARM_PREFECT_DATABASE_URL", "PREFECT_API_DATABASE_CONNECTION_URL"))
    # Where PostgreSQL's server binaries are (initdb, postgres); found under /usr/lib/postgresql by default.
    postgres_bin_dir: Optional[Path] = None
    adb_host: str = "127.0.0.1"
    adb_port: int = Field(
        5037,
        ge=1,
        le=65535,
        validation_alias=AliasChoices("PHONEFARM_ADB_PORT", "ANDROID_ADB_SERVER_PORT"),
    )
    plan: str = "Pro"
    retry_limit: int = Field(3, ge=0)
    # Automatic re-runs of a script after a transient phone error (disconnect, busy UI).
    auto_retries: int = Field(1, ge=0, le=10)
    # Each automatic re-run waits a random time in this range, as the original product does (5-60 s).
    auto_retry_delay_min_seconds: float = Field(5.0, ge=0, le=MAX_AUTO_RETRY_DELAY)
    auto_retry_delay_max_seconds: float = Field(60.0, ge=0, le=MAX_AUTO_RETRY_DELAY)
    # Minutes a task may wait to start when its request names no expire_after; unset: no limit.
    default_expire_after_minutes: Optional[float] = Field(None, gt=0, le=MAX_EXPIRE_AFTER)
    # A phone's health (battery, temperature, storage) is read this often; these guards keep new tasks
    # off it until it recovers: battery below the minimum and not charging, too hot, storage too low.
    health_interval_seconds: float = Field(60.0, ge=5, le=3600)
    guard_min_battery_percent: int = Field(15, ge=0, le=100)
    guard_max_temperature_c: float = Field(45.0, ge=0, le=100)
    guard_min_free_storage_mb: int = Field(500, ge=0)
    # How long an account the app rate-limited gets no task.
    rate_limit_pause_minutes: float = Field(60.0, ge=0)
    # Flow-run processes this PC's worker runs at once, at most. Unset: as many as the plan's device
    # limit (the work pool's limit, set by the API PC) and this PC's phones allow; this only lowers that.
    worker_limit: Optional[int] = Field(None, ge=1)
    # "fast" forks each run from a warm forkserver (Prefect and the flows already imported); "stock"
    # is Prefect's process worker, which starts two new interpreters a run: more memory and CPU per
    # run (docs/decisions/0002-fast-worker.md), and it serves every queue, so a single PC only.
    worker: Literal["fast", "stock"] = "fast"
    # The fast worker is woken by Prefect's events (a run scheduled, a run ended); this poll is its fallback.
    worker_poll_seconds: float = Field(5.0, gt=0)
    # Another PC silent this long is gone: its running tasks fail, its phones show offline. Every PC
    # of a farm should have the same (its worker's phones are taken by no other PC until then).
    pc_silence_seconds: float = Field(LIVE_SECONDS, ge=SHORTEST_SILENCE)
    # A supervised child (Prefect server, PostgreSQL, adb server, worker) alive but failing its health
    # check this long is hung: it is killed and started again (after its start-up, 90 s at least).
    hung_after_seconds: float = Field(30.0, gt=0)
    # Reads answer from the index without waiting on Prefect; enough threads that a few waiting on
    # Prefect writes (a stop, a deletion) do not hold reads up. Prefect's writes have their own bound.
    api_threads: int = Field(24, ge=1)
    # Open connections waitress keeps (slow ones cost a socket, not a thread), and how long an idle one stays.
    api_connection_limit: int = Field(1000, ge=10)
    api_idle_seconds: int = Field(20, ge=2)
    # Writes the API sends to Prefect at once (stops, deletions, run creation).
    prefect_write_concurrency: int = Field(4, ge=1)
    # A request answers once its tasks are in the index; their runs are created behind it at
    # Prefect's pace, so the bound is on what one request may leave queued, not on the answer.
    max_tasks_per_request: int = Field(1000, ge=1)
    # What one request's tasks may store in all (each task's script_config times their number): the
    # default holds a thousand posts with a full 2,200-character caption many times over.
    max_request_config_bytes: int = Field(8 * 1024 * 1024, ge=1024)
    # Accounts one phone may carry (a phone holds a handful per app); more are refused (40001).
    max_accounts_per_phone: int = Field(20, ge=1)
    # The default (1 MiB) holds a request of the largest size and a long script_config many times
    # over; larger bodies are refused (40001).
    max_body_bytes: int = Field(1024 * 1024, ge=1024)
    # The round of the API's keeper (api/supervision/wiring.py): every chore runs at most this often
    # (the index's upkeep, adopting runs started in the Prefect UI, recording account reads, finishing
    # stops and deletions, the other PCs' reports and silence); some only every few rounds. The name
    # is older than the keeper's other chores and stays for existing configurations.
    ui_adoption_seconds: float = Field(2.0, gt=0)
    # Host names clients use to reach the API besides IP addresses and localhost (JSON list); any
    # other name is refused, so a web page cannot reach the API through DNS rebinding.
    allowed_hosts: list[str] = []
    # The only chat endpoints a warm-up may send a stored key to (JSON list of base URLs).
    comment_endpoints: list[str] = [DEFAULT_CHAT_URL]
    # The only models a warm-up may ask those endpoints for (JSON list).
    comment_models: list[str] = [DEFAULT_CHAT_MODEL, "gpt-4o", "gpt-4.1-mini", "gpt-4.1-nano"]
    # Writes (creates, stops, retries, account changes) are refused with 50301 when the disk under
    # data_dir has less room than this: Prefect's database, the index and the logs all live there.
    min_free_disk_mb: int = Field(32, ge=0)
    # Folders besides the material library that post tasks may take files from (JSON list).
    material_roots: list[Path] = []
    # Where completion callbacks may go (JSON list of URL prefixes: scheme, host, port and a path
    # prefix); a request naming any other URL is refused. Empty: no callbacks.
    callback_urls: list[str] = []
    # The key of the callbacks' HMAC-SHA256 signature; a callback_url is refused while it is unset.
    callback_secret: Optional[SecretStr] = Field(None, min_length=16)
    # The shortest `repeat` of a plan (cron expressions fire at most once a minute anyway); the tests set
    # it low to see plans fire within seconds.
    min_repeat_seconds: int = Field(60, ge=1)
    # Plans this farm keeps; creating one more is refused (40001).
    max_plans: int = Field(100, ge=1)
    # Tasks (including a firing's failed summary) all plans together may fire in a minute; a firing
    # that would exceed it ends Failed with the reason, creating nothing.
    max_fired_tasks_per_minute: int = Field(600, ge=1)
    # The action budgets' defaults per platform (docs/operations.md): a YAML file like the shipped
    # api/domain/action_budgets.yaml, which it replaces; checked at start-up.
    action_budgets_file: Optional[Path] = None
    # The time zone plans fire in (an IANA name); the machine's own by default.
    timezone: str = Field(default_factory=lambda: tzlocal.get_localzone_name())

    @field_validator("plan")
    @classmethod
    def _known_plan(cls, value: str) -> str:
        for name in PLANS:
            if name.lower() == value.lower():
                return name
        raise ValueError(f"plan must be one of {', '.join(PLANS)}")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name such as Europe/Berlin)") from None
        return value

    @field_validator("pc_name")
    @classmethod
    def _plain_pc_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}", value):
            raise ValueError("pc_name must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
        return value

    @model_validator(mode="after")
    def _retry_delay_is_a_range(self) -> "Settings":
        if self.auto_retry_delay_min_seconds > self.auto_retry_delay_max_seconds:
            raise ValueError(f"PHONEFARM_AUTO_RETRY_DELAY_MIN_SECONDS ({self.auto_retry_delay_min_seconds}) is above "
                             f"PHONEFARM_AUTO_RETRY_DELAY_MAX_SECONDS ({self.auto_retry_delay_max_seconds})")
        return self

    @model_validator(mode="after")
    def _worker_needs_a_server(self) -> "Settings":
        if self.role == "worker" and self.prefect_api_url is None:
            raise ValueError("a worker PC (--role worker) needs the farm's Prefect server: set PHONEFARM_PREFECT_API_URL "
                             "(https://<API PC>:4443/api through its TLS proxy, or http://<API PC>:4200/api) and PHONEFARM_PREFECT_AUTH_STRING")
        return self

    @model_validator(mode="after")
    def _token_off_loopback(self) -> "Settings":
        if not is_loopback(self.host) and self.api_token is None:
            raise ValueError(
                f"listening on {self.host} (not loopback) needs an API token: set PHONEFARM_API_TOKEN "
                "(16 characters or more); clients then send 'Authorization: Bearer <token>'"
            )
        return self

    @property
    def api_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v1"

    @property
    def prefect_url(self) -> str:
        return self.prefect_api_url or f"http://127.0.0.1:{self.prefect_port}/api"

    @property
    def prefect_ui_url(self) -> str:
        return self.prefect_url.removesuffix("/api")

    @property
    def starts_prefect_server(self) -> bool:
        return self.prefect_api_url is None

    @property
    def prefect_auth(self) -> Optional[str]:
        return self.prefect_auth_string.get_secret_value() if self.prefect_auth_string else None

    @property
    def prefect_auth_path(self) -> Path:
        return self.data_dir / "prefect" / "auth-string"

    @property
    def material_library(self) -> Path:
        return self.data_dir / "materials"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def phone_locks_dir(self) -> Path:
        return self.data_dir / LOCKS_FOLDER  # where this PC's runs hold their phones (flows/settings.py)

    @property
    def starts_postgres(self) -> bool:
        return self.starts_prefect_server and self.database == "postgresql" and self.prefect_database_url is None

    @property
    def index_path(self) -> Path:
        return self.data_dir / "index.db"
