"""Every menu action in one table: text, key, what it runs and the rule that enables it.

A rule reads a Qt-free :class:`AppState` and returns None (enabled) or the reason it is not, which
the action's tooltip shows ("Unavailable: busy: ..."). The window builds its menus from
:data:`ACTIONS` and re-applies the rules after every change (``MainWindow._update_actions``), so
no handler needs its own enable check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..viewstate import WINDOW_PRESETS, Tool


@dataclass(frozen=True)
class AppState:
    """What the rules may look at."""

    has_document: bool = False
    busy: bool = False  # a job (load, segmentation, comparison, self-test) is running
    can_undo: bool = False
    can_redo: bool = False
    seg_unavailable: str | None = None  # why this scan cannot have a DICOM SEG
    has_labels: bool = False


Rule = Callable[[AppState], "str | None"]


def always(state: AppState) -> str | None:
    return None


def idle(state: AppState) -> str | None:
    return "busy: wait for the running job or cancel it" if state.busy else None


def idle_document(state: AppState) -> str | None:
    if not state.has_document:
        return "open a CT first"
    return idle(state)


def with_labels(state: AppState) -> str | None:
    return idle_document(state) or (None if state.has_labels else "no labels yet: segment or paint first")


def can_undo(state: AppState) -> str | None:
    return idle_document(state) or (None if state.can_undo else "nothing to undo")


def can_redo(state: AppState) -> str | None:
    return idle_document(state) or (None if state.can_redo else "nothing to redo")


def can_export_seg(state: AppState) -> str | None:
    return idle_document(state) or state.seg_unavailable


@dataclass(frozen=True)
class ActionSpec:
    name: str  # object name, and the window attribute ``act_<name>``
    menu: str
    text: str
    run: Callable  # run(window)
    keys: tuple[str, ...] = ()  # portable key names ("Ctrl+S") or "std:Open" for Qt's platform standard keys
    rule: Rule = always
    separator_before: bool = False


def _tool_action(tool: Tool) -> ActionSpec:
    return ActionSpec(f"tool_{tool.value}", "&Tools", f"{tool.value.capitalize()} tool",
                      lambda w, t=tool: w.tool_panel.set_tool(t.value), (tool.key,))


def _window_action(i: int, name: str) -> ActionSpec:
    width, level = WINDOW_PRESETS[name]
    return ActionSpec(f"window_{i}", "&View", name, lambda w: w.set_window(width, level), (f"F{i}",))


ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&File", "Open CT file...", lambda w: w.open_file_dialog(), ("std:Open",), idle),
    ActionSpec("open_folder", "&File", "Open DICOM folder...", lambda w: w.open_folder_dialog(), ("Ctrl+Shift+O",), idle),
    ActionSpec("load_mask", "&File", "Load mask (NIfTI or DICOM SEG)...", lambda w: w.load_mask_dialog(), (),
               idle_document, separator_before=True),
    ActionSpec("save_mask", "&File", "Save mask as NIfTI...", lambda w: w.save_mask_dialog(), ("Ctrl+S",), idle_document),
    ActionSpec("seg", "&File", "Export DICOM SEG...", lambda w: w.export_seg_dialog(), (), can_export_seg),
    ActionSpec("report", "&File", "Export report (PDF, JSON, CSV)...", lambda w: w.export_report_dialog(), ("Ctrl+E",),
               idle_document),
    ActionSpec("compare", "&File", "Compare with prior...", lambda w: w.compare_with_prior_dialog(), (), idle_document),
    ActionSpec("quit", "&File", "Quit", lambda w: w.close(), ("std:Quit",), always, separator_before=True),
    ActionSpec("undo", "&Edit", "Undo", lambda w: w.undo(), ("std:Undo",), can_undo),
    ActionSpec("redo", "&Edit", "Redo", lambda w: w.redo(), ("Ctrl+Y", "Ctrl+Shift+Z"), can_redo),
    ActionSpec("interpolate", "&Edit", "Fill between slices (axial, active label)", lambda w: w.interpolate_dialog(),
               ("Ctrl+I",), idle_document, separator_before=True),
    ActionSpec("flood_fill", "&Edit", "Flood fill closed region at cursor (axial)", lambda w: w.flood_fill_at_cursor(),
               ("Ctrl+F",), idle_document),
    ActionSpec("remove_islands", "&Edit", "Remove islands", lambda w: w.remove_islands(), (), with_labels),
    ActionSpec("tumour_inside_liver", "&Edit", "Remove tumour outside the liver", lambda w: w.tumour_inside_liver(), (),
               with_labels),
    ActionSpec("next_lesion", "&Edit", "Next lesion", lambda w: w.lesion_panel.move(1), ("N",), separator_before=True),
    ActionSpec("previous_lesion", "&Edit", "Previous lesion", lambda w: w.lesion_panel.move(-1), ("Shift+N",)),
    ActionSpec("larger_brush", "&Edit", "Larger brush", lambda w: w.tool_panel.grow(1.25), ("]",)),
    ActionSpec("smaller_brush", "&Edit", "Smaller brush", lambda w: w.tool_panel.grow(0.8), ("[",)),
    ActionSpec("segment", "&Segment", "Segment liver and tumours", lambda w: w.segment(), ("Ctrl+G",), idle_document),
    *(_window_action(i, name) for i, name in enumerate(WINDOW_PRESETS, start=1)),
    ActionSpec("fit", "&View", "Fit views (reset zoom)", lambda w: w.fit_views(), ("Ctrl+0",), separator_before=True),
    *(_tool_action(t) for t in Tool),
    ActionSpec("shortcuts", "&Help", "Keyboard shortcuts", lambda w: w.show_shortcuts(), ("F12",)),
    ActionSpec("about", "&Help", "About LivSeg / self-test", lambda w: w.about(), (), idle),
)


def spec(name: str) -> ActionSpec:
    return next(a for a in ACTIONS if a.name == name)
