"""The bundled nets, loaded once on first use from whichever thread needs them first. No Qt.

The window's jobs run in worker threads; a lock makes the lazy loading safe without the window's
own attributes ever being set from a worker.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .cascade import Cascade
from .click_net import ClickNet, ClickSpec
from .modelcard import load_card
from .runner import NetRunner


class Models:
    def __init__(self, folder: str | Path | None = None, threads: int = 0):
        self.folder, self.threads = folder, threads
        self._lock = threading.Lock()
        self._cascade: Cascade | None = None
        self._click: ClickNet | None | bool = False  # False: not looked for yet; None: the card has none

    def cascade(self) -> Cascade:
        with self._lock:
            if self._cascade is None:
                self._cascade = Cascade(self.folder, threads=self.threads)
            return self._cascade

    def click_net(self) -> ClickNet | None:
        """The learned lesion-click net, or None when the models folder has none (the classical tools work alone)."""
        with self._lock:
            if self._click is False:
                self._click = load_click_net(self.folder, self.threads)
            return self._click


def load_click_net(folder: str | Path | None = None, threads: int = 0) -> ClickNet | None:
    from ..resources import models_dir

    card = load_card(folder or models_dir())
    entry = card.raw.get("nets", {}).get("click")
    if not entry:
        return None
    return ClickNet(NetRunner(card.net("click"), threads), ClickSpec.from_card(entry))
