"""The views' behaviour: crosshair linking, window/level, zoom and maximise, hover read-out, keys.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`; keys act on the view under the mouse.
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ..planes import Plane, lps_text
from .menus import WINDOW_PRESETS
from .slice_view import SliceView


class ViewActions:
    def _set_cursor(self, voxel) -> None:
        self.cursor = np.asarray(voxel, float)
        for v in self.views.values():
            v.set_cursor(self.cursor)

    def set_window(self, width: float, level: float) -> None:
        self.window = (max(1.0, width), level)
        for v in self.views.values():
            v.set_window(*self.window)
        preset = next((n for n, wl in WINDOW_PRESETS.items() if wl == self.window), None)
        self.wl_label.setText(preset or f"Custom W{self.window[0]:.0f} L{self.window[1]:.0f}")
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
        width, level = self.window
        self.set_window(width + dx * 2, level - dy * 2)

    def _overlay_changed(self) -> None:
        opacity, outline, show = self.overlay_panel.state()
        for v in self.views.values():
            v.opacity, v.outline, v.show_labels = opacity, outline, show
            v.refresh_labels()

    def _tool_changed(self) -> None:
        painting = self.tool_panel.tool != "navigate"
        for v in self.views.values():
            v.set_brush(self.tool_panel.radius.value() if painting else None)

    def _hover(self, plane: Plane, voxel) -> None:
        if self.session is None or voxel is None:
            self.hu_label.setText("")
            return
        vol = self.session.volume
        ijk = np.round(voxel).astype(int)
        if np.any(ijk < 0) or np.any(ijk >= vol.shape):
            return
        hu = vol.array[tuple(ijk)]
        lps = vol.voxel_to_lps(ijk)
        lab = int(self.session.labels.data[tuple(ijk)])
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
        if key in steps and self.session is not None:
            view.step(steps[key])
            self.cursor[view.plane.axis] = view.index
            for v in self.views.values():
                if v is not view:
                    v.set_cursor(self.cursor)
        else:
            super().keyPressEvent(ev)
