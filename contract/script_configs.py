"""The `script_config` schema of every script the API can run, and the names it knows but cannot."""

from __future__ import annotations

import re
from typing import Literal, Optional, Union

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator


class ScriptConfig(BaseModel):
    # Older clients send fields we do not know: ignore them rather than refuse the task.
    model_config = ConfigDict(extra="ignore")


class PostConfig(ScriptConfig):
    content_type: Literal[0, 1] = 0
    image_count: int = Field(1, ge=1, le=35)
    captions: str = ""
    post_way: Literal["share", "addButton", "useSound"] = "share"
    material_source: Literal["materialLibrary", "localFolder"] = "materialLibrary"
    material_path: str = ""
    material_list: list[str] = []
    materials_tags: str = ""
    upload_wait_time: int = Field(30, ge=0, le=3600)
    sound_wait_time: int = Field(10, ge=0, le=600)
    add_sound: Union[int, str] = "-1"
    sound_name: str = ""
    custom_sound_keyword: str = ""
    origin_sound_volume: int = Field(50, ge=0, le=100)
    add_sound_volume: int = Field(50, ge=0, le=100)
    add_product_link: int = 0
    placement: Literal["reel", "story"] = "reel"
    # Filled in by the API when it creates the task: the exact server files this task posts.
    files: list[str] = []

    @field_validator("add_sound")
    @classmethod
    def _sound_choice(cls, value):
        if str(value) not in {"-1", "0", "1", "custom"}:
            raise ValueError('must be -1, 0, 1 or "custom"')
        return str(value)

    @model_validator(mode="after")
    def _required_companions(self):
        if self.post_way == "useSound" and not self.sound_name:
            raise ValueError("sound_name is required when post_way is useSound")
        if self.add_sound == "custom" and not self.custom_sound_keyword:
            raise ValueError('custom_sound_keyword is required when add_sound is "custom"')
        if not self.material_list and self.material_source == "localFolder" and not self.material_path:
            raise ValueError("material_path is required when material_source is localFolder")
        return self


def split_targets(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[\n,]", text) if part.strip()]


class FollowConfig(ScriptConfig):
    target_users: list[str] = []
    target_user: str = ""
    access_method: Literal["direct", "search"] = "direct"

    @field_validator("target_users")
    @classmethod
    def _no_blank_targets(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v or v == "@" for v in cleaned):
            raise ValueError("target_users must not contain empty names")
        return cleaned

    @model_validator(mode="after")
    def _one_target_key(self):
        if not self.targets():
            raise ValueError("target_users or target_user is required")
        return self

    def targets(self) -> list[str]:
        """target_users wins when both are given."""
        return self.target_users or split_targets(self.target_user)


class WarmupConfig(ScriptConfig):
    task_duration: float = Field(600, gt=0, le=24 * 3600)
    topic: str = ""
    min_duration: float = Field(15, ge=0)
    max_duration: float = Field(30, ge=0)
    like_probable: float = Field(0, ge=0, le=100)
    # "floow" is the API's spelling (the spec's); "follow_probable" is accepted too.
    floow_probable: float = Field(0, ge=0, le=100,
                                  validation_alias=AliasChoices("floow_probable", "follow_probable"))
    collect_probable: float = Field(0, ge=0, le=100)
    comment_probable: float = Field(0, ge=0, le=100)
    comment: str = ""
    insert_emoji: bool = False
    comment_order: Literal["random", "sequential"] = "random"
    generate_by_chatgpt: bool = False
    chatgpt_settings: dict = {}

    @model_validator(mode="after")
    def _durations_ordered(self):
        if self.min_duration > self.max_duration:
            raise ValueError("min_duration must not be greater than max_duration")
        return self


SCRIPT_CONFIGS: dict[str, type[ScriptConfig]] = {
    "post": PostConfig,
    "follow": FollowConfig,
    "unfollow": FollowConfig,
    "account_warmup": WarmupConfig,
}

RUNNABLE_SCRIPTS = frozenset(SCRIPT_CONFIGS)
# Known to the original product but not implemented here: 40003 until they are.
KNOWN_NOT_RUNNABLE = frozenset({"like", "comment", "message", "super_marketing", "profile", "scrape_user"})
FANNED_OUT_BY_TARGET = frozenset({"follow", "unfollow"})


def parse_config(script_name: str, raw: dict) -> ScriptConfig:
    return SCRIPT_CONFIGS[script_name].model_validate(raw)


def platform_hint(raw: dict) -> Optional[str]:
    value = raw.get("platform") if isinstance(raw, dict) else None
    return value if value in ("tiktok", "instagram") else None
