"""Every real capture in ../shared/real-screens/ is recognised by `devices.inspect` as the screen its README names."""

from pathlib import Path

import pytest

from devices.inspect import inspect_xml


def _captures() -> Path:
    # The captures sit beside the checkout (../shared/real-screens/); worktrees nest one level deeper.
    repo = Path(__file__).resolve().parents[2]
    for folder in (repo.parent, *repo.parent.parents):
        if (folder / "shared" / "real-screens").is_dir():
            return folder / "shared" / "real-screens"
    raise AssertionError(f"real captures missing: expected {repo.parent / 'shared' / 'real-screens'}")


# file -> (screen, interruption name or None, blocking or None, elements a script needs on it)
EXPECTED = {
    "tiktok-popup-1.xml": ("interruption", "shared_collections_promo", None, []),
    "tiktok-popup-2.xml": ("interruption", "contacts_permission", None, []),
    "tiktok-feed-1.xml": ("feed", None, None, ["like_button", "comment_button", "follow_button", "profile_tab", "create_button"]),
    "tiktok-feed-2.xml": ("feed", None, None, ["like_button", "comment_button", "follow_button"]),
    "tiktok-comments-1.xml": ("comments", None, None, ["comment_input"]),
    "tiktok-upload-1.xml": ("upload_gallery", None, None, []),
    "tiktok-upload-2.xml": ("upload_edit", None, None, ["next_button"]),
    "tiktok-upload-3.xml": ("caption", None, None, ["post_button", "caption_field"]),
    "instagram-popup-1.xml": ("interruption", "stories_reach_promo", None, []),
    "instagram-popup-2.xml": ("interruption", "rate_instagram", None, []),
    "instagram-captcha-1.xml": ("interruption", "captcha", "needs_attention", []),
    "instagram-banned-1.xml": ("interruption", "disabled", "banned", []),
    "instagram-suspended-1.xml": ("interruption", "suspended", "banned", []),
    "instagram-login-1.xml": ("login", None, None, []),
    "instagram-profile-1.xml": ("profile", None, None, ["follow_button"]),
    "instagram-profile-2.xml": ("profile", None, None, ["profile_tab", "create_button", "search_entry"]),
    "instagram-upload-1.xml": ("upload_gallery", None, None, ["next_button"]),
    "instagram-upload-2.xml": ("caption", None, None, ["caption_field"]),
    "instagram-posted-1.xml": ("feed", None, None, ["profile_tab", "search_entry"]),
}


def test_every_capture_is_expected():
    assert sorted(path.name for path in _captures().glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_capture_recognised(name):
    screen, interruption, blocking, elements = EXPECTED[name]
    result = inspect_xml((_captures() / name).read_text(encoding="utf-8"), name.split("-")[0])
    assert result["screen"] == screen, result
    if interruption:
        assert result["interruption"]["name"] == interruption
        assert result["interruption"]["blocking"] == blocking
        if not blocking:  # a dismissible one names the element that dismisses it, found by its words
            assert result["interruption"]["dismiss"]["by"] in ("text", "desc")
    else:
        assert result["interruption"] is None
    for element in elements:
        assert result["elements"][element]["by"] in ("text", "desc"), (element, result["elements"].get(element))


def test_feed_follow_button_is_the_follow_desc_not_a_tab():
    result = inspect_xml((_captures() / "tiktok-feed-2.xml").read_text(encoding="utf-8"), "tiktok")
    assert result["elements"]["follow_button"]["desc"].startswith("Follow ")
