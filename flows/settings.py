"""What a flow-run process needs to know, read once when the run starts: a PC that only runs a worker
has no API settings, so the flow never reads them."""

from __future__ import annotations

import random
from pathlib import Path

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from devices.phone_lock import LOCKS_FOLDER
from contract.pcs import LIVE_SECONDS, SHORTEST_SILENCE
from contract.secrets import DEFAULT_CHAT_URL


class WorkerSettings(BaseSettings):
    """Environment names are PHONEFARM_<FIELD>, the same names the service's settings use."""

    model_config = SettingsConfigDict(env_prefix="PHONEFARM_", extra="ignore")

    adb_host: str = Field("127.0.0.1", description="host of this PC's adb server")
    adb_port: int = Field(5037, ge=1, le=65535, description="port of this PC's adb server",
                          validation_alias=AliasChoices("PHONEFARM_ADB_PORT", "ANDROID_ADB_SERVER_PORT"))
    data_dir: Path = Field(Path("./data"), description="artifacts and phone locks live here")
    auto_retries: int = Field(1, ge=0, le=10, description="automatic re-runs after a transient phone error")
    auto_retry_delay_min_seconds: float = Field(5.0, ge=0, description="shortest pause before an automatic re-run")
    auto_retry_delay_max_seconds: float = Field(60.0, ge=0, description="longest pause before an automatic re-run")
    material_roots: list[Path] = Field([], description="folders besides <data-dir>/materials that posts may use")
    comment_endpoints: list[str] = Field([DEFAULT_CHAT_URL],
                                         description="the only chat endpoints a warm-up may send a key to")
    pc_silence_seconds: float = Field(LIVE_SECONDS, ge=SHORTEST_SILENCE,
                                      description="another PC silent this long is gone: its phones may be served here")
    health_interval_seconds: float = Field(60.0, ge=5, le=3600, description="a phone's health is read this often")
    guard_min_battery_percent: int = Field(15, ge=0, le=100, description="below this, and not charging, a phone takes no new task")
    guard_max_temperature_c: float = Field(45.0, ge=0, le=100, description="above this battery temperature a phone takes no new task")
    guard_min_free_storage_mb: int = Field(500, ge=0, description="below this free storage a phone takes no new task")

    @model_validator(mode="after")
    def _retry_delay_is_a_range(self) -> "WorkerSettings":
        if self.auto_retry_delay_min_seconds > self.auto_retry_delay_max_seconds:
            raise ValueError("PHONEFARM_AUTO_RETRY_DELAY_MIN_SECONDS is above PHONEFARM_AUTO_RETRY_DELAY_MAX_SECONDS")
        return self

    def retry_delay(self, rng: random.Random) -> float:
        """The pause before one automatic re-run: random in the range, so phones that failed together
        do not retry together."""
        return rng.uniform(self.auto_retry_delay_min_seconds, self.auto_retry_delay_max_seconds)

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def selectors_dir(self) -> Path:
        """The operator's selector files (<app>.yaml), merged over the shipped ones (docs/screens.md)."""
        return self.data_dir / "selectors"

    @property
    def material_folders(self) -> list[Path]:
        return [self.data_dir / "materials", *self.material_roots]

    @property
    def phone_locks_dir(self) -> Path:
        return self.data_dir / LOCKS_FOLDER
