"""The simulated apps' own strings per locale: the values the real apps show, English where unknown."""

from __future__ import annotations

# TikTok values are the app's own string resources (decompiled TikTok 31.5.3, `res/values-pl`,
# `res/values-ja`), as gathered in the farm's real-apps facts note, section 2. A label whose
# translation is not known falls back to English, as the real apps do with untranslated strings;
# the English texts that stay English on purpose are listed as comments under each locale.
TIKTOK_STRINGS: dict[str, dict[str, str]] = {
    "pl": {
        "Follow": "Obserwuj", "Following": "Obserwowani", "Follow back": "Również obserwuj",
        "Unfollow": "Przestań obserwować", "Like": "Polubienie", "Comment": "Komentarz",
        "Add comment...": "Dodaj komentarz...", "Post": "Opublikuj", "Search": "Szukaj", "Profile": "Profil",
        "Home": "Główna", "Create": "Stwórz", "Inbox": "Przychodzące", "Next": "Dalej", "Upload": "Prześlij",
        "Share": "Udostępnij", "Save": "Zapisz", "Done": "Gotowe", "Not now": "Nie teraz",
        "Don't allow": "Nie zezwalaj", "Friends": "Znajomi",
        # Unknown in Polish, English kept: For You, Followers, Couldn't find this account, Add to
        # Favorites, Comments, Videos, Add sound, Use this sound, Describe your post, Recents, Edit
        # profile, Switch account, Log in to TikTok, the interruption titles, Update now, Got it.
    },
    "ja": {
        "Follow": "フォロー", "Following": "フォロー中", "Follow back": "フォロー返し",
        "Unfollow": "フォロー解除", "Like": "いいね", "Comment": "コメント",
        "Add comment...": "すてきなコメントを書く...", "Post": "投稿", "Search": "検索", "Profile": "プロフィール",
        "Home": "レコメンド", "Create": "作成", "Inbox": "メッセージ", "Next": "次へ", "Upload": "アップロード",
        "Share": "シェア", "Save": "保存", "Done": "完了", "Not now": "後で", "Don't allow": "許可しない",
        "Friends": "友達",
        # Unknown in Japanese, English kept: the same list as for Polish.
    },
}
# No Instagram translation was found in any public source but French: Instagram stays English in
# every simulated locale, which a script written for the real app must cope with anyway.
INSTAGRAM_STRINGS: dict[str, dict[str, str]] = {}

LOCALES = ("en", "pl", "ja")
# What `getprop persist.sys.locale` answers.
SYSTEM_LOCALE = {"en": "en-US", "pl": "pl-PL", "ja": "ja-JP"}


def say(locale: str, platform: str | None, english: str) -> str:
    """`english` as the app of `platform` shows it in `locale`."""
    table = TIKTOK_STRINGS if platform == "tiktok" else INSTAGRAM_STRINGS
    return table.get(locale, {}).get(english, english)


def check(locale: str) -> str:
    if locale not in LOCALES:
        raise ValueError(f"unknown simulated locale {locale!r} (known: {', '.join(LOCALES)})")
    return locale
