"""What the user is looking at and working with, without Qt: cursor, window/level, overlay, tool.

The window keeps one :class:`ViewState`; panels write to it and the views follow its events, so
every way of changing a setting (menu, key, panel, drag) ends in the same place.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import numpy as np

from .events import Events
from .labels import LIVER, TUMOUR

WINDOW_PRESETS = {
    "Abdomen (W400 L40)": (400.0, 40.0),
    "Liver (W150 L30)": (150.0, 30.0),
    "Bone (W1800 L400)": (1800.0, 400.0),
    "Lung (W1500 L-600)": (1500.0, -600.0),
}

LIVER_WIDTH, LIVER_LEVEL = WINDOW_PRESETS["Liver (W150 L30)"]  # the threshold tool starts at the liver window


class Tool(str, Enum):
    """The pointer tools, with their ITK-SNAP-style keys."""

    NAVIGATE = "navigate"
    PAINT = "paint"
    ERASE = "erase"
    THRESHOLD = "threshold"
    SPHERE = "sphere"
    CLICK = "click"

    @property
    def key(self) -> str:
        return {"navigate": "C", "paint": "P", "erase": "E", "threshold": "T", "sphere": "B", "click": "K"}[self.value]

    @property
    def paints(self) -> bool:
        """Whether a drag changes labels (and the views show the brush)."""
        return self in (Tool.PAINT, Tool.ERASE, Tool.THRESHOLD, Tool.SPHERE)


@dataclass
class Overlay:
    opacity: float = 0.45
    outline: bool = False
    show: dict[int, bool] = field(default_factory=lambda: {LIVER: True, TUMOUR: True})


@dataclass
class ToolSettings:
    tool: Tool = Tool.NAVIGATE
    label: int = TUMOUR
    radius_mm: float = 5.0
    hu_range: tuple[float, float] = (LIVER_LEVEL - LIVER_WIDTH / 2, LIVER_LEVEL + LIVER_WIDTH / 2)  # threshold tool
    erase_only_label: bool = True  # erasing tumour gives liver back; erasing liver clears to background


class ViewState:
    """Cursor (canonical voxel), window/level, overlay and tool; each change emits its event once."""

    def __init__(self) -> None:
        self.events = Events("cursor", "window", "overlay", "tool")
        self.cursor = np.zeros(3)
        self.window: tuple[float, float] = WINDOW_PRESETS["Abdomen (W400 L40)"]
        self.overlay = Overlay()
        self.tools = ToolSettings()

    def set_cursor(self, voxel) -> None:
        self.cursor = np.asarray(voxel, float).copy()
        self.events.cursor.emit(self.cursor)

    def move_cursor(self, axis: int, index: int) -> None:
        cursor = self.cursor.copy()
        cursor[axis] = index
        self.set_cursor(cursor)

    def set_window(self, width: float, level: float) -> None:
        window = (max(1.0, float(width)), float(level))
        if window != self.window:
            self.window = window
            self.events.window.emit(window)

    @property
    def window_preset(self) -> str | None:
        return next((name for name, wl in WINDOW_PRESETS.items() if wl == self.window), None)

    def window_text(self) -> str:
        """What the W/L read-out says: the preset's name, or "Custom W350 L60" after a drag."""
        return self.window_preset or f"Custom W{self.window[0]:.0f} L{self.window[1]:.0f}"

    def set_overlay(self, opacity: float, outline: bool, show: dict[int, bool]) -> None:
        overlay = Overlay(float(np.clip(opacity, 0.0, 1.0)), bool(outline), dict(show))
        if overlay != self.overlay:
            self.overlay = overlay
            self.events.overlay.emit(overlay)

    def set_tools(self, **changes) -> None:
        """Change tool settings by name (``tool=Tool.PAINT``, ``radius_mm=3``); unknown names are errors."""
        current = self.tools.__dict__.copy()
        unknown = set(changes) - set(current)
        if unknown:
            raise TypeError(f"unknown tool settings: {sorted(unknown)}")
        if "tool" in changes:
            changes["tool"] = Tool(changes["tool"])
        updated = ToolSettings(**{**current, **changes})
        if updated != self.tools:
            self.tools = updated
            self.events.tool.emit(updated)
