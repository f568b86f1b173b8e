"""The `script_config` schema of every script the API can run, and the names it knows but cannot."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Optional, Union

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_serializer, field_validator, model_validator

# Lengths the apps themselves allow, so nothing longer is ever worth storing or typing on a phone:
# - a caption: 2,200 characters on TikTok (TikTok newsroom, "Expanding caption length", 2022) and on
#   Instagram (Instagram Help Center, "caption limit": 2,200 characters). Spintax may spread the
#   options over a longer template, but every caption it can make must fit (api/domain/planning.py).
CAPTION_LENGTH = 2200
CAPTION_TEMPLATE_LENGTH = 10 * CAPTION_LENGTH
# - a comment: 150 characters on TikTok, 2,200 on Instagram (same sources); one field serves both,
#   so the smaller holds for each template line.
COMMENT_LENGTH = 150
# - a username: 30 characters on Instagram (Instagram Help Center), 24 on TikTok (TikTok Support,
#   "Changing your username"): the larger bounds a target of either app.
USERNAME_LENGTH = 30
# No app limit is published for these; long enough for any real search term or sound name or URL.
TOPIC_LENGTH = 100
SOUND_NAME_LENGTH = 300
MAX_LINES = 200  # topics or comment templates in one config
PATH_LENGTH = 4096  # PATH_MAX on Linux
MAX_TARGETS = 1000  # never more tasks than a request may create anyway
URL_LENGTH = 300  # a post URL is under 100 characters; the rest is room for a tracking query, dropped
# A generated comment is short; a larger budget would only cost the operator's key.
MAX_TOKENS = 1000
# What a warm-up asks for when its chatgpt_settings say nothing (flows/comments.py).
DEFAULT_CHAT_MODEL = "gpt-4o-mini"
DEFAULT_MAX_TOKENS = 60
# What `insert_emoji` appends to a comment, after a space: at most two UTF-16 units each (the apps count those).
COMMENT_EMOJI = ("😀", "🔥", "👏", "😍", "💯", "🙌", "✨", "😂", "👍", "❤️")
EMOJI_ROOM = 3


def _lines_within(value: str, length: int, what: str) -> str:
    lines = [line for line in value.splitlines() if line.strip()]
    if len(lines) > MAX_LINES:
        raise ValueError(f"at most {MAX_LINES} {what}s, one per line (got {len(lines)})")
    longest = max((len(line.strip()) for line in lines), default=0)
    if longest > length:
        raise ValueError(f"each {what} must be at most {length} characters (one has {longest})")
    return value


class ScriptConfig(BaseModel):
    # Older clients send fields we do not know: ignore them rather than refuse the task.
    model_config = ConfigDict(extra="ignore")


class PostConfig(ScriptConfig):
    content_type: Literal[0, 1] = 0
    image_count: int = Field(1, ge=1, le=35)
    captions: str = Field("", max_length=CAPTION_TEMPLATE_LENGTH)
    post_way: Literal["share", "addButton", "useSound"] = "share"
    material_source: Literal["materialLibrary", "localFolder"] = "materialLibrary"
    material_path: str = Field("", max_length=PATH_LENGTH)
    material_list: list[Annotated[str, Field(max_length=PATH_LENGTH)]] = Field([], max_length=MAX_TARGETS)
    materials_tags: str = Field("", max_length=1000)
    upload_wait_time: int = Field(30, ge=0, le=3600)
    sound_wait_time: int = Field(10, ge=0, le=600)
    add_sound: Union[int, str] = "-1"
    sound_name: str = Field("", max_length=SOUND_NAME_LENGTH)
    custom_sound_keyword: str = Field("", max_length=TOPIC_LENGTH)
    origin_sound_volume: int = Field(50, ge=0, le=100)
    add_sound_volume: int = Field(50, ge=0, le=100)
    add_product_link: int = 0
    placement: Literal["reel", "story"] = "reel"
    # Filled in by the API when it creates the task: the exact server files this task posts.
    files: list[Annotated[str, Field(max_length=PATH_LENGTH)]] = Field([], max_length=MAX_TARGETS)

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


def _usernames(names: list[str]) -> list[str]:
    if len(names) > MAX_TARGETS:
        raise ValueError(f"at most {MAX_TARGETS} target users")
    for name in names:
        if len(name.lstrip("@")) > USERNAME_LENGTH:
            raise ValueError(f"a username has at most {USERNAME_LENGTH} characters: {name[:40]!r}...")
    return names


class ChatSettings(BaseModel):
    """How a warm-up asks an OpenAI-compatible endpoint for comments; the model is checked against
    PHONEFARM_COMMENT_MODELS when the task is created."""

    # A misspelt key would silently fall back to a default that costs more: refused instead.
    model_config = ConfigDict(extra="forbid")

    api_key: Optional[str] = Field(None, max_length=500)
    base_url: Optional[str] = Field(None, max_length=2000)
    model: str = Field(DEFAULT_CHAT_MODEL, min_length=1, max_length=100)
    prompt: str = Field("", max_length=2000)
    max_tokens: int = Field(DEFAULT_MAX_TOKENS, ge=1, le=MAX_TOKENS)
    temperature: float = Field(0.8, ge=0, le=2)


class FollowConfig(ScriptConfig):
    target_users: list[Annotated[str, Field(max_length=USERNAME_LENGTH + 10)]] = Field([], max_length=MAX_TARGETS)
    target_user: str = Field("", max_length=MAX_TARGETS * (USERNAME_LENGTH + 10))
    access_method: Literal["direct", "search"] = "direct"

    @field_validator("target_users")
    @classmethod
    def _no_blank_targets(cls, value: list[str]) -> list[str]:
        cleaned = [v.strip() for v in value]
        if any(not v or v == "@" for v in cleaned):
            raise ValueError("target_users must not contain empty names")
        return _usernames(cleaned)

    @field_validator("target_user")
    @classmethod
    def _short_targets(cls, value: str) -> str:
        _usernames(split_targets(value))
        return value

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
    topic: str = Field("", max_length=MAX_LINES * (TOPIC_LENGTH + 1))
    min_duration: float = Field(15, ge=0)
    max_duration: float = Field(30, ge=0)
    like_probable: float = Field(0, ge=0, le=100)
    # "floow" is the API's spelling (the spec's); "follow_probable" is accepted too.
    floow_probable: float = Field(0, ge=0, le=100,
                                  validation_alias=AliasChoices("floow_probable", "follow_probable"))
    collect_probable: float = Field(0, ge=0, le=100)
    comment_probable: float = Field(0, ge=0, le=100)
    comment: str = Field("", max_length=MAX_LINES * (COMMENT_LENGTH + 1))
    insert_emoji: bool = False
    comment_order: Literal["random", "sequential"] = "random"
    generate_by_chatgpt: bool = False
    chatgpt_settings: ChatSettings = ChatSettings()

    @field_validator("topic")
    @classmethod
    def _short_topics(cls, value: str) -> str:
        return _lines_within(value, TOPIC_LENGTH, "topic")

    @field_validator("comment")
    @classmethod
    def _short_comments(cls, value: str) -> str:
        return _lines_within(value, COMMENT_LENGTH, "comment")

    @field_serializer("chatgpt_settings")
    def _given_chat_settings(self, value: ChatSettings) -> dict:
        return value.model_dump(exclude_unset=True)  # what the operator gave; the defaults live here

    @model_validator(mode="after")
    def _durations_ordered(self):
        if self.min_duration > self.max_duration:
            raise ValueError("min_duration must not be greater than max_duration")
        return self


# The post URL forms the original product accepts; a query string (share tracking) is dropped.
_POST_URLS = (
    ("tiktok", re.compile(r"https://(?:www\.|m\.)?tiktok\.com/@[A-Za-z0-9._]{1,30}/video/\d{1,25}/?")),
    ("tiktok", re.compile(r"https://vm\.tiktok\.com/[A-Za-z0-9]{4,20}/?")),
    ("instagram", re.compile(r"https://(?:www\.)?instagram\.com/(?:p|reel)/[A-Za-z0-9_-]{4,40}/?")),
)


def post_url(url: str) -> tuple[str, str]:
    """(platform, the URL without its query) of a post URL; ValueError for anything else."""
    bare = url.strip().split("?", 1)[0].split("#", 1)[0]
    for platform, pattern in _POST_URLS:
        if pattern.fullmatch(bare):
            return platform, bare
    raise ValueError(f"not a TikTok or Instagram post URL: {url[:80]!r} (https://www.tiktok.com/@user/video/<id>, "
                     "https://vm.tiktok.com/<code>/, https://www.instagram.com/p/<code>/ or .../reel/<code>/)")


class CommentConfig(ScriptConfig):
    """The comment script: one task per phone (or account) and post URL."""

    target_post_urls: list[Annotated[str, Field(max_length=URL_LENGTH)]] = Field(
        [], max_length=MAX_TARGETS, description="post URLs: https://www.tiktok.com/@user/video/<id>, "
        "https://vm.tiktok.com/<code>/, https://www.instagram.com/p/<code>/ or .../reel/<code>/; wins over target_post_url")
    target_post_url: str = Field("", max_length=MAX_TARGETS * (URL_LENGTH + 1),
                                 description="one or several post URLs separated by newlines or commas")
    comment_content: str = Field("", max_length=MAX_LINES * (COMMENT_LENGTH + 1),
                                 description=f"required: the comments, one per line, each at most {COMMENT_LENGTH} characters")
    comment_order: Literal["random", "sequential"] = Field(
        "random", description="sequential: the n-th task of the request takes the n-th comment, cycling")
    insert_emoji: bool = Field(False, description="append a random emoji to the comment")
    comment_image_path: str = Field("", max_length=PATH_LENGTH, description=(
        "TikTok only: an image (absolute, or relative to <data-dir>/materials) pushed to the phone and attached "
        "to the comment from the gallery"))

    @field_validator("target_post_urls")
    @classmethod
    def _known_urls(cls, value: list[str]) -> list[str]:
        return [post_url(url)[1] for url in value]

    @field_validator("target_post_url")
    @classmethod
    def _known_url_list(cls, value: str) -> str:
        urls = split_targets(value)
        if len(urls) > MAX_TARGETS:
            raise ValueError(f"at most {MAX_TARGETS} post URLs")
        for url in urls:
            post_url(url)
        return value

    @field_validator("comment_content")
    @classmethod
    def _short_comments(cls, value: str) -> str:
        return _lines_within(value, COMMENT_LENGTH, "comment")

    @model_validator(mode="after")
    def _required(self):
        if not self.targets():
            raise ValueError("target_post_urls or target_post_url is required (the posts to comment on)")
        if not self.comments():
            raise ValueError("comment_content is required (the comments, one per line)")
        if self.insert_emoji and max(map(len, self.comments())) > COMMENT_LENGTH - EMOJI_ROOM:
            raise ValueError(f"with insert_emoji each comment must be at most {COMMENT_LENGTH - EMOJI_ROOM} "
                             "characters, so the emoji fits")
        if self.comment_image_path and any(post_url(url)[0] != "tiktok" for url in self.targets()):
            raise ValueError("comment_image_path is for TikTok posts only (Instagram comments take no image)")
        return self

    def targets(self) -> list[str]:
        """target_post_urls wins when both are given; each URL without its query string."""
        return self.target_post_urls or [post_url(url)[1] for url in split_targets(self.target_post_url)]

    def comments(self) -> list[str]:
        return [line.strip() for line in self.comment_content.splitlines() if line.strip()]


SCRIPT_CONFIGS: dict[str, type[ScriptConfig]] = {
    "post": PostConfig,
    "follow": FollowConfig,
    "unfollow": FollowConfig,
    "account_warmup": WarmupConfig,
    "comment": CommentConfig,
}

RUNNABLE_SCRIPTS = frozenset(SCRIPT_CONFIGS)
# Known to the original product but not implemented here: 40003 until they are.
KNOWN_NOT_RUNNABLE = frozenset({"like", "message", "super_marketing", "profile", "scrape_user"})
FANNED_OUT_BY_TARGET = frozenset({"follow", "unfollow"})  # one task per target user
FANNED_OUT_BY_POST = frozenset({"comment"})  # one task per target post


def parse_config(script_name: str, raw: dict) -> ScriptConfig:
    return SCRIPT_CONFIGS[script_name].model_validate(raw)


def platform_hint(raw: dict) -> Optional[str]:
    value = raw.get("platform") if isinstance(raw, dict) else None
    return value if value in ("tiktok", "instagram") else None
