"""The follow / unfollow script: open a profile (by URL or through search) and flip its Follow button."""

from __future__ import annotations

import urllib.parse

from contract.script_configs import FollowConfig
from devices import ui
from devices.errors import InvalidScriptConfig, ScriptFailed, TargetNotFound
from devices.phone import Phone
from devices.platforms import platform_named
from devices.screen import Screen
from devices.selectors import Match


def follow_user(phone: Phone, config: FollowConfig, *, platform: str, unfollow: bool,
                load_timeout: float = 30.0, interval: float = 0.3) -> str:
    """Follow (or unfollow) the config's first target: the API fans a task out to one target each."""
    user = config.targets()[0].removeprefix("@")
    if not user:
        raise InvalidScriptConfig("no target user given")
    app = platform_named(platform)
    package = phone.installed_package(app)
    screen = Screen.of_app(phone, app.name, timeout=load_timeout, interval=interval)

    if config.access_method == "direct":
        # Percent-encoding keeps a hostile name one path segment of the URL.
        url = app.profile_url.format(user=urllib.parse.quote(user, safe="._-"))
        phone.open_url(url, package, what=f"the profile of @{user}")
    else:
        _open_profile_by_search(screen, package, user)

    button = screen.wait(_profile_loaded(screen, user), f"no Follow button on the profile of @{user}")
    # Which element matched decides, not its words: "Obserwowani" is following, "Obserwuj" is not.
    if button.element == ("follow_button" if unfollow else "following_button"):
        return f"already not following @{user}" if unfollow else f"already following @{user}"
    screen.tap_node(button.node)
    _confirm_result(screen, user, unfollow)
    return f"unfollowed @{user}" if unfollow else f"now following @{user}"


def _open_profile_by_search(screen: Screen, package: str, user: str) -> None:
    screen.phone.start_app(package)
    screen.tap(screen.element("search_entry"), "no Search button on the app's home screen")
    screen.tap(ui.text_field(), "no search box on the search screen")
    screen.phone.type_text(user)

    def result(nodes: list[ui.UiNode]) -> ui.UiNode | None:
        if screen.find(nodes, "no_results"):
            raise _missing(user)
        return ui.find(nodes, user, include_text_fields=False)

    screen.tap(result, f"no search result for @{user}")


def _profile_loaded(screen: Screen, user: str) -> ui.Finder[Match]:
    # A profile can sit on a loading spinner for a while; only a Follow button or the
    # "account missing" text counts as loaded.
    def follow_button_or_missing(nodes: list[ui.UiNode]) -> Match | None:
        if screen.find(nodes, "missing_account"):
            raise _missing(user)
        return _follow_button(screen, nodes)

    return follow_button_or_missing


def _missing(user: str) -> TargetNotFound:
    return TargetNotFound(f"target user @{user} does not exist")


def _follow_button(screen: Screen, nodes: list[ui.UiNode]) -> Match | None:
    # "Following" first: the words of a Follow button may start another label ("Follow" / "Follow back").
    return screen.find(nodes, "following_button", "follow_button", clickable=True, text_fields=False)


def _confirm_result(screen: Screen, user: str, unfollow: bool, timeout: float = 5.0) -> None:
    wanted = "follow_button" if unfollow else "following_button"

    def settled(nodes: list[ui.UiNode]) -> Match | None:
        confirm = screen.button("unfollow_confirm")(nodes) if unfollow else None
        if confirm is not None:
            screen.tap_node(confirm.node)  # the app asked "Unfollow?" first
            return None
        button = _follow_button(screen, nodes)
        return button if button is not None and button.element == wanted else None

    def still_unchanged(nodes: list[ui.UiNode]) -> ScriptFailed:
        button = _follow_button(screen, nodes)
        action = "Following" if unfollow else "Follow"
        return ScriptFailed(f"tapped {action} on the profile of @{user} but the button still reads "
                            f"{button.node.text if button else 'nothing'}")

    screen.wait(settled, timeout=timeout, failure=still_unchanged)
