"""Interruptions, as uiautomator2's watchers handle them: dismiss the known harmless ones, stop on the blocking ones."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from devices.errors import AccountBanned, AccountBlocked, AccountNeedsAttention, AccountRateLimited
from devices.selectors import Selectors, load_selectors, match_interruption

BLOCKING = {"banned": AccountBanned, "needs_attention": AccountNeedsAttention, "rate_limited": AccountRateLimited}
_log = logging.getLogger(__name__)


@dataclass
class Watcher:
    """Checks every screen a script reads; `dismissed` names what it took out of the way, for the task's note."""

    selectors: Selectors
    locale: Optional[str] = None
    limit: int = 5  # a dialog that comes back after this many dismissals is not one a tap removes
    dismissed: list[str] = field(default_factory=list)

    @classmethod
    def for_app(cls, app: str, locale: Optional[str] = None, operator_folders: tuple[Path, ...] = ()) -> "Watcher":
        return cls(load_selectors(app, *operator_folders), locale)

    def check(self, phone, nodes) -> bool:
        """True when it dismissed something (the screen must be read again); raises for a blocking interruption."""
        found = match_interruption(self.selectors, nodes, self.locale)
        if not found:
            return False
        interruption, dismiss = found
        if interruption.blocking:
            raise BLOCKING.get(interruption.blocking, AccountBlocked)(
                f"{interruption.remark} on phone {phone.serial}: the account needs a person (no script may pass this screen)")
        if len(self.dismissed) >= self.limit:
            raise AccountNeedsAttention(f"{interruption.remark} on phone {phone.serial}, and it keeps coming back "
                                        f"after {self.limit} dismissals")
        if dismiss is not None:
            phone.tap(*dismiss.node.center)
            how = f"tapped {dismiss.label!r}"
        elif interruption.back_key:
            phone.back()
            how = "pressed back"
        else:
            raise AccountNeedsAttention(f"{interruption.remark} on phone {phone.serial}, and its way out is not on screen")
        self.dismissed.append(f"{interruption.name} ({how})")
        _log.info("phone %s: dismissed %s (%s)", phone.serial, interruption.name, how)
        return True

    def note(self) -> str:
        return f"; dismissed: {', '.join(self.dismissed)}" if self.dismissed else ""
