"""Simulated TikTok builds: their obfuscated resource-ids differ, as the real app's change with every build."""

from __future__ import annotations

import dataclasses

from simulator.display import TIKTOK, TIKTOK_TRILL, Node

DEFAULT = "43.1.4"
# The screens carry 43.1.4's ids; an older build renames the obfuscated ones. Search is the real
# pair (`irz` in 43.x, `ia6` in 35.x: the real-apps facts note, §3, [GL] id map); the others are the
# simulator's own names. Ids that are words stay, as in the real app. What matters is that a script
# which taps by id breaks on one of the two builds.
_RENAMED = {"35.1.3": {"irz": "ia6", "eg1": "d3k", "qh5": "fo9"}}
VERSIONS = (DEFAULT, *_RENAMED)
_TIKTOK_PREFIXES = (f"{TIKTOK}:id/", f"{TIKTOK_TRILL}:id/")


def with_version_ids(nodes: list[Node], version: str) -> list[Node]:
    """The nodes with `version`'s ids: TikTok's obfuscated ones renamed, every other id as it is."""
    renamed = _RENAMED.get(version)
    if not renamed:
        return nodes
    result = []
    for node in nodes:
        prefix, _, name = node.resource_id.partition(":id/")
        if node.resource_id.startswith(_TIKTOK_PREFIXES) and name in renamed:
            node = dataclasses.replace(node, resource_id=f"{prefix}:id/{renamed[name]}")
        result.append(node)
    return result


def check(version: str) -> str:
    if version not in VERSIONS:
        raise ValueError(f"unknown simulated app version {version!r} (known: {', '.join(VERSIONS)})")
    return version
