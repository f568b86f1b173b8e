"""`./run inspect FILE.xml [--app tiktok|instagram]`: what the selectors recognise in one dump, as one JSON object."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Optional

from devices import ui
from devices.selectors import find_element, load_selectors, match_interruption, recognise_screen

APPS = ("tiktok", "instagram")
ELEMENTS = ("follow_button", "following_button", "like_button", "comment_button", "comment_input", "search_entry",
            "profile_tab", "create_button", "next_button", "post_button", "caption_field", "home_tab")


def _guess_app(xml: str) -> str:
    for app in APPS:
        for package in load_selectors(app).packages:
            if package in xml:
                return app
    return "tiktok"


def _match_json(match) -> dict:
    return {"bounds": list(match.node.bounds), "text": match.node.text, "desc": match.node.content_desc,
            "resource_id": match.node.resource_id, "by": match.by, "label": match.label, "locale": match.locale,
            "alternative": {"field": match.alternative.field, "match": match.alternative.match,
                            "source": match.alternative.source, "unverified": match.alternative.unverified}}


def inspect_xml(xml: str, app: Optional[str] = None, locale: Optional[str] = None,
                operator_folders: tuple = ()) -> dict:
    app = app or _guess_app(xml)
    selectors = load_selectors(app, *operator_folders)
    nodes = ui.parse(xml)
    found = {name: find_element(selectors, name, nodes, locale) for name in ELEMENTS}
    seen = next((match.locale for match in found.values() if match and match.locale != "*"), None)
    interruption = match_interruption(selectors, nodes, locale)
    result = {"app": app, "locale": locale or seen, "screen": recognise_screen(selectors, nodes, locale),
              "interruption": None,
              "elements": {name: _match_json(match) for name, match in found.items() if match}}
    if interruption:
        entry, dismiss = interruption
        result["screen"] = "interruption"
        if result["locale"] is None and dismiss is not None and dismiss.locale != "*":
            result["locale"] = dismiss.locale  # a dialog's button may be the only localised text
        result["interruption"] = {"name": entry.name, "remark": entry.remark, "blocking": entry.blocking,
                                  "dismiss": _match_json(dismiss) if dismiss else ("back" if entry.back_key else None)}
    elif result["screen"] == "unknown":
        result["texts"] = [text for node in nodes for text in (node.text, node.content_desc) if text.strip()][:40]
    return result


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="./run inspect", description=__doc__)
    parser.add_argument("file", type=Path)
    parser.add_argument("--app", choices=APPS)
    parser.add_argument("--locale")
    parser.add_argument("--selectors", type=Path, action="append", default=[], help="an operator folder of selector files")
    args = parser.parse_args(argv)
    result = inspect_xml(args.file.read_text(encoding="utf-8"), args.app, args.locale, tuple(args.selectors))
    json.dump(result, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
