"""What the scripts know of TikTok and Instagram besides their words: packages, URLs and the shape of their flows.

Every word a script looks for on screen is in the app's selector file (devices/selectors/<app>.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from devices.errors import InvalidScriptConfig


@dataclass(frozen=True)
class Platform:
    name: str  # also the name of its selector file
    app_name: str
    packages: tuple[str, ...]  # in order of preference when a phone has several
    profile_url: str  # {user} is the percent-encoded username
    feed_tab: Optional[tuple[str, str]]  # (element, its name in remarks) of the tab that opens the video feed
    post_button_name: str  # the publish button, as remarks name it
    chooses_placement: bool  # the edit screen has POST / STORY / REEL tabs

    @property
    def opens_on_video(self) -> bool:
        """Started, the app shows its video feed at once, playing (TikTok's For You)."""
        return self.feed_tab is None


TIKTOK = Platform(
    name="tiktok", app_name="TikTok", packages=("com.zhiliaoapp.musically", "com.ss.android.ugc.trill"),
    profile_url="https://www.tiktok.com/@{user}", feed_tab=None, post_button_name="Post", chooses_placement=False)
INSTAGRAM = Platform(
    name="instagram", app_name="Instagram", packages=("com.instagram.android",),
    profile_url="https://www.instagram.com/{user}/", feed_tab=("reels_tab", "Reels"), post_button_name="Share",
    chooses_placement=True)
PLATFORMS = {platform.name: platform for platform in (TIKTOK, INSTAGRAM)}


def platform_named(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise InvalidScriptConfig(f"platform {name} is not supported") from None
