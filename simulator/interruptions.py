"""Dialogs the real apps put over a screen: random dismissable ones, and blocking ones on a test's request."""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulator import locales
from simulator.display import Node, row

DEFAULT_SEED = 20261204
_DIALOG = (80, 700, 1000, 1700)
_PERMISSION_DENY = "com.android.permissioncontroller:id/permission_deny_button"


@dataclass(frozen=True)
class Interruption:
    """One dialog: `lines` of text, `buttons` as (label, resource id, dismisses); full screen or a dialog."""

    name: str
    platform: str
    lines: tuple[str, ...]
    buttons: tuple[tuple[str, str, bool], ...]
    blocking: bool = False
    full_screen: bool = False


def _t(name, lines, buttons, **options) -> Interruption:
    return Interruption(name, "tiktok", tuple(lines), tuple(buttons), **options)


def _i(name, lines, buttons, **options) -> Interruption:
    return Interruption(name, "instagram", tuple(lines), tuple(buttons), **options)


# Texts and dismiss buttons from the real apps, as in the farm's real-apps facts note, section 1
# (TikTok 31.5.3 resources, TikTok 43.x and Instagram 410 captures). Button labels in a `say` table
# are shown in the phone's locale; titles are English everywhere (no translation known).
CATALOGUE: tuple[Interruption, ...] = (
    _t("follow_friends", ["Follow your friends"], [("Close", "dga", True)]),
    _t("contacts_permission",
       ["To connect with people you know on TikTok, allow access to your contacts in your device settings."],
       # The 43.1.4 capture writes the apostrophe as U+2019; the resource value has a plain one.
       [("Open settings", "", False), ("Don’t allow", "", True)]),
    # The dialog text is Android 13's own permission prompt, not TikTok's.
    _t("notifications", ["Allow TikTok to send you notifications?"],
       [("Allow", "com.android.permissioncontroller:id/permission_allow_button", False),
        ("Don't allow", _PERMISSION_DENY, True)]),
    _t("sync_contacts", ["Sync contacts"], [("Not now", "", True)]),
    _t("link_email", ["Link email"], [("Not now", "", True)]),
    # The real prompt has no text in its dump (drawn, not views); only its buttons' strings are known.
    _t("update", [], [("Update now", "", False), ("Not now", "", True)]),
    # "Follow back" is the trap: it follows someone instead of skipping.
    _t("suggested_accounts", ["Swipe up to skip"], [("Follow back", "bjk", False), ("Not interested", "bjl", True)],
       full_screen=True),
    # Only the notice's key phrase is known, not its whole text.
    _t("eea_data_notice", ["Privacy Policy: transfers of EEA User Data to China"], [("Got it", "", True)]),
    _t("streak_pet_promo", ["Hatch a Streak Pet"], [("", "fad", True)]),
    _i("save_login", ["Save your login info?"], [("Save", "positive_button", False),
                                                ("Not now", "negative_button", True)]),
    _i("notifications", ["Turn on notifications?", "Get notifications when people follow you"],
       [("Turn On", "", False), ("Not Now", "", True)]),
    _i("update", ["Update Instagram", "A new version of Instagram is available on Google Play."],
       [("Update", "", False), ("Not Now", "", True)]),
    _i("rate", ["Rate Instagram", "If you enjoy using Instagram, would you mind taking a moment to rate it? "
                "It won't take more than a minute. Thanks for your support!"],
       [("Remind me later", "", True), ("No, thanks", "appirater_cancel_button", True)]),
    _i("suggested", ["Suggested for you"], [("Dismiss", "", True)]),
)
BLOCKING: tuple[Interruption, ...] = (
    _t("captcha", ["Verify to continue", "Drag the puzzle piece into place"], [("Close", "", False)],
       blocking=True, full_screen=True),
    _t("too_fast", ["You’re acting too fast. Try again later."], [], blocking=True),
    _t("banned", ["Account banned",
                  "Your account was permanently banned due to multiple violations of our Community Guidelines."],
       [], blocking=True, full_screen=True),
    _i("captcha", ["Confirm you're human"], [("Continue", "", False)], blocking=True, full_screen=True),
    _i("too_fast", ["Try Again Later", "We limit how often you can do certain things on Instagram to protect "
                    "our community."], [("OK", "igds_alert_dialog_primary_button", False)], blocking=True),
    _i("banned", ["We disabled your account"], [], blocking=True, full_screen=True),
)


def find(platform: str, name: str, *, blocking: bool) -> Interruption:
    for interruption in BLOCKING if blocking else CATALOGUE:
        if (interruption.platform, interruption.name) == (platform, name):
            return interruption
    raise KeyError(f"no {'blocking ' if blocking else ''}interruption {name!r} for {platform}")


def roll(rng: random.Random, rate: float, platform: str) -> Interruption | None:
    """At a screen change: an interruption of the app with probability `rate`, else None."""
    if rate <= 0 or rng.random() >= rate:
        return None
    return rng.choice([item for item in CATALOGUE if item.platform == platform])


def nodes(interruption: Interruption, package: str, locale: str) -> list[Node]:
    """The dialog's nodes, drawn over the screen; dismiss buttons carry the ("dismiss_interruption",) action."""
    left, top, right, bottom = (0, 0, 1080, 2400) if interruption.full_screen else _DIALOG
    result = [Node(class_name="android.widget.FrameLayout", resource_id=f"{package}:id/dialog_container",
                   bounds=(left, top, right, bottom))]
    for index, line in enumerate(interruption.lines):
        result.append(Node(text=line, class_name="android.widget.TextView", bounds=row(top + 80 + 140 * index)))
    for index, (text, view, dismisses) in enumerate(interruption.buttons):
        shown = locales.say(locale, interruption.platform, text.replace("’", "'"))
        if text != text.replace("’", "'") and shown == text.replace("’", "'"):
            shown = text  # untranslated: the English value as the capture shows it
        resource = view if ":" in view else (f"{package}:id/{view}" if view else "")
        # Close buttons are icons: a content-desc and no text, as in the captures.
        icon = text in ("", "Close")
        result.append(Node(text="" if icon else shown, content_desc=shown or "Close" if icon else "",
                           resource_id=resource,
                           class_name="android.widget.ImageView" if icon else "android.widget.Button",
                           clickable=True,
                           bounds=row(bottom - 160 * (len(interruption.buttons) - index), 140),
                           action=("dismiss_interruption",) if dismisses else ("ignore_interruption",)))
    return result
