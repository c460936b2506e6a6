"""The window's menus, built from the action table (:mod:`.actions`), and the rules applied to them.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`. Each action gets the attribute
``act_<name>``; its tooltip names its key, or why it is unavailable.
"""

from __future__ import annotations

from PySide6 import QtGui

from .actions import ACTIONS, AppState
from .shortcuts import show_shortcuts


def _key_sequences(keys: tuple[str, ...]) -> list[QtGui.QKeySequence]:
    out = []
    for k in keys:
        if k.startswith("std:"):
            out.append(QtGui.QKeySequence(getattr(QtGui.QKeySequence.StandardKey, k[4:])))
        else:
            out.append(QtGui.QKeySequence(k))
    return out


class Menus:
    def _build_menus(self) -> None:
        menus: dict[str, object] = {}
        self._actions: dict[str, tuple[QtGui.QAction, object]] = {}
        for spec in ACTIONS:
            menu = menus.get(spec.menu) or menus.setdefault(spec.menu, self.menuBar().addMenu(spec.menu))
            if spec.separator_before:
                menu.addSeparator()
            action = QtGui.QAction(spec.text, self)
            action.setObjectName(spec.name)
            if spec.keys:
                action.setShortcuts(_key_sequences(spec.keys))
            action.triggered.connect(lambda *_, run=spec.run: run(self))
            menu.addAction(action)
            setattr(self, f"act_{spec.name}", action)
            self._actions[spec.name] = (action, spec)
            if spec.name == "open_folder":
                self.recent_menu = menu.addMenu("Open recent")
                self._fill_recent()
            if spec.name == "compare":
                anon = QtGui.QAction("Anonymise reports", self, checkable=True)
                anon.toggled.connect(lambda on: setattr(self, "anonymise", on))
                menu.addAction(anon)

    def show_shortcuts(self) -> None:
        show_shortcuts(self)

    def app_state(self) -> AppState:
        doc = self.document
        lm = doc.labels if doc is not None else None
        return AppState(has_document=doc is not None, busy=self.worker is not None,
                        can_undo=bool(lm and lm.undo_stack), can_redo=bool(lm and lm.redo_stack),
                        seg_unavailable=doc.seg_unavailable if doc is not None else None,
                        has_labels=bool(doc is not None and doc.has_labels))

    def _update_actions(self) -> None:
        """Apply every action's rule: enabled, or disabled with the reason in its tooltip."""
        state = self.app_state()
        for action, spec in self._actions.values():
            reason = spec.rule(state)
            action.setEnabled(reason is None)
            keys = action.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)
            action.setToolTip(f"{spec.text} - unavailable: {reason}" if reason else
                              f"{spec.text} ({keys})" if keys else spec.text)
        lm = self.document.labels if self.document is not None else None
        self.act_undo.setText(f"Undo {lm.undo_name()}" if lm and lm.undo_stack else "Undo")
        self.act_redo.setText(f"Redo {lm.redo_name()}" if lm and lm.redo_stack else "Redo")
        reason = self._actions["segment"][1].rule(state)  # the side panel's button follows the menu action
        self.segment_button.setEnabled(reason is None)
        self.segment_button.setToolTip(f"Unavailable: {reason}" if reason else
                                       "Run the liver and tumour networks on this scan (Ctrl+G); the result is one undo step")
