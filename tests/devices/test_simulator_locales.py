"""Simulated apps in Polish and Japanese show the real apps' strings, read over adb like a real phone's."""

from __future__ import annotations

import pytest

from devices.adb import open_phone
from simulator.phone import SimulatedPhone
from tests.devices.simulator_helpers import INSTAGRAM, TIKTOK, dump, launch, tap_text, texts
from tests.harness import running_farm


@pytest.mark.parametrize(("locale", "system", "home", "create", "profile", "search", "follow"), [
    ("pl", "pl-PL", "Główna", "Stwórz", "Profil", "Szukaj", "Obserwuj"),
    ("ja", "ja-JP", "レコメンド", "作成", "プロフィール", "検索", "フォロー"),
])
def test_tiktok_speaks_the_phone_locale(adb, locale, system, home, create, profile, search, follow):
    with running_farm(adb, 1, locale=locale) as farm:
        device = open_phone(adb, farm.serials[0])
        assert device.shell("getprop persist.sys.locale") == system
        launch(device, TIKTOK)
        feed = dump(device)
        assert {home, create, profile, search, follow} <= texts(feed)
        assert "Home" not in texts(feed)
        assert "For You" in texts(feed)  # no translation known: English, as the real app shows it
        tap_text(device, feed, search)
        device.shell(["input", "text", "alice"])
        tap_text(device, dump(device), "user_name")  # the search result
        assert follow in texts(dump(device))


def test_instagram_stays_english_where_no_translation_is_known(adb):
    with running_farm(adb, 1, locale="pl") as farm:
        device = open_phone(adb, farm.serials[0])
        launch(device, INSTAGRAM)
        assert {"Home", "Profile", "Search and explore"} <= texts(dump(device))


def test_english_is_the_default_and_an_unknown_locale_is_refused(adb):
    with running_farm(adb, 1) as farm:
        assert open_phone(adb, farm.serials[0]).shell("getprop persist.sys.locale") == "en-US"
    with pytest.raises(ValueError):
        SimulatedPhone("x", locale="xx")
