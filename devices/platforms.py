"""Every app-specific string the scripts rely on: packages, screen labels and URLs of TikTok and Instagram."""

from __future__ import annotations

from dataclasses import dataclass

from devices.errors import InvalidScriptConfig


@dataclass(frozen=True)
class Platform:
    name: str
    app_name: str
    packages: tuple[str, ...]  # in order of preference when a phone has several
    profile_url: str  # {user} is the percent-encoded username
    search_entry_labels: tuple[str, ...]
    missing_account_text: str  # what a profile shows for a user that does not exist
    results_tab_labels: tuple[str, ...]  # the videos tab of a topic search
    feed_tab_labels: tuple[str, ...]  # the tab that opens the video feed; empty when the app opens on it
    post_labels: tuple[str, ...]  # the button that publishes on the caption screen
    chooses_placement: bool  # the edit screen has POST / STORY / REEL tabs


TIKTOK = Platform(
    name="tiktok", app_name="TikTok", packages=("com.zhiliaoapp.musically", "com.ss.android.ugc.trill"),
    profile_url="https://www.tiktok.com/@{user}", search_entry_labels=("Search",),
    missing_account_text="Couldn't find this account", results_tab_labels=("Videos",), feed_tab_labels=(),
    post_labels=("Post",), chooses_placement=False)
INSTAGRAM = Platform(
    name="instagram", app_name="Instagram", packages=("com.instagram.android",),
    profile_url="https://www.instagram.com/{user}/", search_entry_labels=("Search and explore", "Search"),
    missing_account_text="Sorry, this page isn't available.", results_tab_labels=("Reels",),
    feed_tab_labels=("Reels",), post_labels=("Share",), chooses_placement=True)
PLATFORMS = {platform.name: platform for platform in (TIKTOK, INSTAGRAM)}


def platform_named(name: str) -> Platform:
    try:
        return PLATFORMS[name]
    except KeyError:
        raise InvalidScriptConfig(f"platform {name} is not supported") from None


# Labels below are shared: each tuple holds what either app (or an app version) shows for the same thing.

SEARCH_LABELS = ("Search", "Search and explore")
NO_RESULTS_TEXT = "No results found"

# Follow buttons, on profiles and on feed videos.
FOLLOWING_LABELS = ("Following", "Requested")
NOT_FOLLOWING_LABELS = ("Follow", "Follow back")
UNFOLLOW_CONFIRM_LABEL = "Unfollow"

# Feed actions.
LIKE_LABELS = ("Like",)
LIKED_LABEL = "Liked"
FOLLOW_LABELS = ("Follow",)
BOOKMARK_LABELS = ("Add to Favorites", "Favorites", "Save")
COMMENT_LABELS = ("Comment",)
POST_COMMENT_LABELS = ("Post", "Post comment", "Send")

# The upload flow.
CREATE_LABELS = ("Create", "New post", "+")
ADD_SOUND_LABELS = ("Add sound", "Add audio")
USE_SOUND_LABELS = ("Use this sound", "Use audio")
SOUND_ROW_DESCRIPTION = "Sound"  # content-desc of a sound in search results and the sound picker
SOUND_LOADING_TEXT = "Loading sound"
VOLUME_LABEL = "Volume"
ORIGINAL_SOUND_SLIDER = "Original sound"
ADDED_SOUND_SLIDER = "Added sound"
DONE_LABEL = "Done"
NEXT_LABEL = "Next"
GALLERY_TILE_PREFIXES = ("Video", "Photo")  # content-desc of gallery tiles starts with one of these
UPLOADING_PREFIX = "Uploading"
PUBLISHED_LABELS = ("Your post is published", "Your video is posted", "Your reel has been shared",
                    "Your post has been shared", "Posted")

# The own profile, the account switcher and the login screen of an expired session.
PROFILE_TAB = "Profile"
SWITCHER_TITLE = "Switch account"  # also the content-desc of the profile header that opens the switcher
ADD_ACCOUNT = "Add account"
LOG_IN_BUTTON = "Log in"
LOGGED_OUT_MARK = "Logged out account"  # content-desc of the username on the login screen
