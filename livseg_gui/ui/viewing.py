"""The views' behaviour: crosshair linking, window/level, zoom and maximise, hover read-out, keys.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`; keys act on the view under the mouse.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..planes import Plane, lps_text
from .slice_view import SliceView


class ViewActions:
    """Panels, menus and keys change ``self.view_state`` (Qt-free); the views follow its events here."""

    def _connect_view_state(self) -> None:
        events = self.view_state.events
        events.cursor.connect(self._show_cursor)
        events.window.connect(self._show_window)
        events.overlay.connect(self._show_overlay)
        events.tool.connect(self._show_tool)

    def _set_cursor(self, voxel) -> None:
        self.view_state.set_cursor(voxel)

    def _show_cursor(self, cursor: np.ndarray) -> None:
        for v in self.views.values():
            v.set_cursor(cursor)

    def set_window(self, width: float, level: float) -> None:
        self.view_state.set_window(width, level)

    def _show_window(self, window: tuple[float, float]) -> None:
        for v in self.views.values():
            v.set_window(*window)
        self.wl_label.setText(self.view_state.window_text())
        preset = self.view_state.window_preset
        if preset and self.window_box.currentText() != preset:
            self.window_box.setCurrentText(preset)

    def toggle_maximised(self, plane: Plane) -> None:
        """Show only this view, or all three again (ITK-SNAP and Slicer users double-click for this)."""
        others = [v for p, v in self.views.items() if p is not plane]
        alone = all(v.isHidden() for v in others)
        for v in others:
            v.setVisible(alone)
        right = self.views[Plane.CORONAL].parentWidget()
        right.setVisible(alone or plane is not Plane.AXIAL)
        self.views[Plane.AXIAL].setVisible(alone or plane is Plane.AXIAL)
        self.views[plane].setVisible(True)

    def fit_views(self) -> None:
        for v in self.views.values():
            v.fit()

    def _window_drag(self, dx: float, dy: float) -> None:
        width, level = self.view_state.window
        self.set_window(width + dx * 2, level - dy * 2)

    def _overlay_changed(self) -> None:
        self.view_state.set_overlay(*self.overlay_panel.state())

    def _show_overlay(self, overlay) -> None:
        for v in self.views.values():
            v.opacity, v.outline, v.show_labels = overlay.opacity, overlay.outline, overlay.show
            v.refresh_labels()

    def _tool_changed(self) -> None:
        tp = self.tool_panel
        self.view_state.set_tools(tool=tp.tool, label=tp.label, radius_mm=tp.radius.value(),
                                  hu_range=(float(tp.hu_lo.value()), float(tp.hu_hi.value())),
                                  erase_only_label=tp.erase_only.isChecked())

    def _show_tool(self, settings) -> None:
        for v in self.views.values():
            v.set_brush(settings.radius_mm if settings.tool.paints else None)

    def _hover(self, plane: Plane, voxel) -> None:
        if self.document is None or voxel is None:
            self.hu_label.setText("")
            return
        vol = self.document.volume
        ijk = np.round(voxel).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= vol.shape):
            return
        hu = vol.array[tuple(ijk)]
        lps = vol.voxel_to_lps(ijk)
        lab = int(self.document.labels.data[tuple(ijk)])
        self.hu_label.setText(f"HU {float(hu):.0f}  |  {lps_text(lps)}  |  voxel {ijk[0]}, {ijk[1]}, {ijk[2]}  |  label {lab}")

    def _view_under_mouse(self) -> SliceView:
        w = QtWidgets.QApplication.widgetAt(QtGui.QCursor.pos())
        while w is not None:
            if isinstance(w, SliceView):
                return w
            w = w.parentWidget()
        return self.views[Plane.AXIAL]

    def keyPressEvent(self, ev) -> None:
        key = ev.key()
        view = self._view_under_mouse()
        steps = {QtCore.Qt.Key.Key_Up: 1, QtCore.Qt.Key.Key_Down: -1, QtCore.Qt.Key.Key_PageUp: 10,
                 QtCore.Qt.Key.Key_PageDown: -10, QtCore.Qt.Key.Key_Right: 1, QtCore.Qt.Key.Key_Left: -1}
        if key in steps and self.document is not None:
            view.step(steps[key])
            self.view_state.move_cursor(view.plane.axis, view.index)
        else:
            super().keyPressEvent(ev)
