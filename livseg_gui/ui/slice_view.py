"""One plane of the volume in a pyqtgraph view: CT, label overlay, crosshair, brush cursor, letters.

The view only renders and forwards mouse events as voxel coordinates; what a click or drag
means is decided by the main window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from ..planes import Plane, from_voxel, plane_shape, plane_slice, plane_spacing, to_voxel
from .overlay import mark_candidates, outline_labels, outline_selected, overlay_lut

pg.setConfigOptions(imageAxisOrder="row-major", antialias=False)


class _ViewBox(pg.ViewBox):
    """Wheel = slice, Ctrl+wheel = zoom, right-drag = window/level, middle-drag = pan, left = tool."""

    def __init__(self, view: SliceView):
        super().__init__(invertY=True, lockAspect=True, enableMenu=False)
        self.view = view

    def wheelEvent(self, ev, axis=None):
        if ev.modifiers() & QtCore.Qt.KeyboardModifier.ControlModifier:
            super().wheelEvent(ev, axis)
        else:
            self.view.step(1 if ev.delta() > 0 else -1)
            ev.accept()

    def mouseDragEvent(self, ev, axis=None):
        button = ev.button()
        if button == QtCore.Qt.MouseButton.RightButton:
            ev.accept()
            d = ev.pos() - ev.lastPos()
            self.view.sigWindowDrag.emit(float(d.x()), float(d.y()))
        elif button == QtCore.Qt.MouseButton.MiddleButton:
            super().mouseDragEvent(ev, axis)
        elif button == QtCore.Qt.MouseButton.LeftButton:
            ev.accept()
            p = self.mapToView(ev.pos())
            phase = "start" if ev.isStart() else ("finish" if ev.isFinish() else "move")
            self.view.pointer(p.x(), p.y(), phase)

    def mouseClickEvent(self, ev):
        if ev.button() == QtCore.Qt.MouseButton.LeftButton and ev.double():
            ev.accept()
            self.view.sigMaximise.emit(self.view.plane)
        elif ev.button() in (QtCore.Qt.MouseButton.LeftButton, QtCore.Qt.MouseButton.RightButton):
            ev.accept()
            p = self.mapToView(ev.pos())
            negative = (ev.button() == QtCore.Qt.MouseButton.RightButton
                        or bool(ev.modifiers() & QtCore.Qt.KeyboardModifier.ShiftModifier))
            self.view.pointer(p.x(), p.y(), "click-" if negative else "click")
        else:
            super().mouseClickEvent(ev)


class SliceView(QtWidgets.QWidget):
    sigPointer = QtCore.Signal(object, object, str)  # (plane, voxel ijk, phase)
    sigHover = QtCore.Signal(object, object)  # (plane, voxel ijk or None)
    sigSliceChanged = QtCore.Signal(object, int)  # (plane, index)
    sigWindowDrag = QtCore.Signal(float, float)
    sigMaximise = QtCore.Signal(object)  # plane: double-click toggles this view alone / all three

    def __init__(self, plane: Plane, parent=None):
        super().__init__(parent)
        self.plane = plane
        self.volume = None
        self.labels: np.ndarray | None = None
        self.marks: np.ndarray | None = None  # candidate regions (bool), outlined in yellow
        self.selected: np.ndarray | None = None  # the selected lesion (bool), outlined in white
        self.index = 0
        self.window = (400.0, 40.0)
        self.opacity, self.outline, self.show_labels = 0.45, False, {1: True, 2: True}
        self.cursor_voxel: np.ndarray | None = None
        self.brush_radius_mm: float | None = None
        self._lut_key = None

        self.graphics = pg.GraphicsView()
        self.graphics.setBackground("k")
        self.vb = _ViewBox(self)
        self.graphics.setCentralItem(self.vb)
        self.ct_item = pg.ImageItem()
        self.label_item = pg.ImageItem()
        self.label_item.setZValue(10)
        self.vb.addItem(self.ct_item)
        self.vb.addItem(self.label_item)
        pen = pg.mkPen((255, 220, 0, 150), width=1)
        self.hline = pg.InfiniteLine(angle=0, pen=pen, movable=False)
        self.vline = pg.InfiniteLine(angle=90, pen=pen, movable=False)
        for line in (self.hline, self.vline):
            line.setZValue(20)
            self.vb.addItem(line, ignoreBounds=True)
        self.brush_item = QtWidgets.QGraphicsEllipseItem()
        self.brush_item.setPen(pg.mkPen((255, 255, 255), width=1.5, cosmetic=True))
        self.brush_item.setZValue(30)
        self.brush_item.setVisible(False)
        self.vb.addItem(self.brush_item, ignoreBounds=True)

        self.slider = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.slider.valueChanged.connect(self.set_index)
        self.caption = QtWidgets.QLabel()
        self.caption.setMinimumWidth(150)
        title = QtWidgets.QLabel(plane.value.capitalize())
        title.setStyleSheet("font-weight: bold")
        bar = QtWidgets.QHBoxLayout()
        bar.addWidget(title)
        bar.addWidget(self.slider, 1)
        bar.addWidget(self.caption)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(2, 2, 2, 2)
        layout.addWidget(self.graphics, 1)
        layout.addLayout(bar)

        self.letters = []
        for text in plane.edge_letters:
            lab = QtWidgets.QLabel(text, self.graphics)
            lab.setStyleSheet("color: #ffd040; font-weight: bold; font-size: 14px; background: transparent")
            lab.setAttribute(QtCore.Qt.WidgetAttribute.WA_TransparentForMouseEvents)
            self.letters.append(lab)
        self.graphics.scene().sigMouseMoved.connect(self._hover)

    # -- data -------------------------------------------------------------------------------
    def set_volume(self, volume, labels: np.ndarray | None) -> None:
        self.volume, self.labels = volume, labels
        n = volume.shape[self.plane.axis]
        row_mm, col_mm = plane_spacing(volume.spacing, self.plane)
        tr = QtGui.QTransform.fromScale(col_mm, row_mm)
        self.ct_item.setTransform(tr)
        self.label_item.setTransform(tr)
        self.slider.blockSignals(True)
        self.slider.setRange(0, n - 1)
        self.slider.blockSignals(False)
        self.index = -1
        self.set_index(n // 2)
        self.fit()

    def fit(self) -> None:
        """Reset zoom and pan so the whole slice fits the view."""
        if self.volume is None:
            return
        row_mm, col_mm = plane_spacing(self.volume.spacing, self.plane)
        rows, cols = plane_shape(self.volume.shape, self.plane)
        self.vb.setRange(QtCore.QRectF(0, 0, cols * col_mm, rows * row_mm), padding=0.02)

    def set_labels(self, labels: np.ndarray | None) -> None:
        self.labels = labels
        self.refresh_labels()

    def set_selected(self, mask: np.ndarray | None) -> None:
        """The lesion selected in the lesion panel (bool volume), or None."""
        self.selected = mask
        self.refresh_labels()

    def set_marks(self, marks: np.ndarray | None) -> None:
        """Candidate regions to outline (bool volume, canonical grid), or None."""
        self.marks = marks
        self.refresh_labels()

    def set_index(self, index: int) -> None:
        if self.volume is None:
            return
        index = int(np.clip(index, 0, self.volume.shape[self.plane.axis] - 1))
        if index == self.index:
            return
        self.index = index
        self.slider.blockSignals(True)
        self.slider.setValue(index)
        self.slider.blockSignals(False)
        self.refresh()
        self.sigSliceChanged.emit(self.plane, index)

    def step(self, delta: int) -> None:
        self.set_index(self.index + delta)

    def refresh(self) -> None:
        if self.volume is None:
            return
        img = plane_slice(self.volume.array, self.plane, self.index)
        width, level = self.window
        self.ct_item.setImage(img, autoLevels=False, levels=(level - width / 2, level + width / 2))
        self.refresh_labels()
        v = np.zeros(3)
        v[self.plane.axis] = self.index
        pos = self.volume.voxel_to_lps(v)[self.plane.axis]
        n = self.volume.shape[self.plane.axis]
        axis_name = "LPS"[self.plane.axis]
        self.caption.setText(f"{self.index + 1}/{n}  {axis_name} {pos:.1f} mm")

    def refresh_labels(self) -> None:
        if self.labels is None or self.volume is None:
            self.label_item.clear()
            return
        lab = plane_slice(self.labels, self.plane, self.index)
        if self.outline:
            lab = outline_labels(lab)
        if self.marks is not None:
            lab = mark_candidates(lab, plane_slice(self.marks, self.plane, self.index))
        if self.selected is not None:
            lab = outline_selected(lab, plane_slice(self.selected, self.plane, self.index))
        lut_key = (self.opacity, self.outline, tuple(sorted(self.show_labels.items())))
        if lut_key != self._lut_key:
            self.label_item.setLookupTable(overlay_lut(self.opacity, self.show_labels, self.outline))
            self._lut_key = lut_key
        self.label_item.setImage(lab, autoLevels=False, levels=(0, 255))

    def set_window(self, width: float, level: float) -> None:
        self.window = (max(1.0, width), level)
        if self.volume is not None:
            self.ct_item.setLevels((level - width / 2, level + width / 2))

    def set_cursor(self, voxel: np.ndarray) -> None:
        """Crosshair through ``voxel``; also selects the slice along this plane's axis."""
        if self.volume is None:
            return
        self.cursor_voxel = np.asarray(voxel, float)
        index, row, col = from_voxel(self.plane, voxel, self.volume.shape)
        row_mm, col_mm = plane_spacing(self.volume.spacing, self.plane)
        self.hline.setPos((row + 0.5) * row_mm)
        self.vline.setPos((col + 0.5) * col_mm)
        self.set_index(index)

    # -- pointer ----------------------------------------------------------------------------
    def voxel_at(self, x_mm: float, y_mm: float) -> np.ndarray | None:
        if self.volume is None:
            return None
        row_mm, col_mm = plane_spacing(self.volume.spacing, self.plane)
        row, col = y_mm / row_mm - 0.5, x_mm / col_mm - 0.5
        rows, cols = plane_shape(self.volume.shape, self.plane)
        if not (-0.5 <= row < rows - 0.5 and -0.5 <= col < cols - 0.5):
            return None
        return to_voxel(self.plane, self.index, row, col, self.volume.shape)

    def pointer(self, x_mm: float, y_mm: float, phase: str) -> None:
        voxel = self.voxel_at(x_mm, y_mm)
        self._move_brush(x_mm, y_mm)
        if voxel is not None or phase == "finish":
            self.sigPointer.emit(self.plane, voxel, phase)

    def _hover(self, scene_pos) -> None:
        p = self.vb.mapSceneToView(scene_pos)
        self._move_brush(p.x(), p.y())
        self.sigHover.emit(self.plane, self.voxel_at(p.x(), p.y()))

    def set_brush(self, radius_mm: float | None) -> None:
        self.brush_radius_mm = radius_mm
        self.brush_item.setVisible(radius_mm is not None)

    def _move_brush(self, x_mm: float, y_mm: float) -> None:
        r = self.brush_radius_mm
        if r is None:
            return
        self.brush_item.setRect(x_mm - r, y_mm - r, 2 * r, 2 * r)

    def resizeEvent(self, ev) -> None:
        super().resizeEvent(ev)
        w, h = self.graphics.width(), self.graphics.height()
        left, right, top, bottom = self.letters
        left.move(6, h // 2 - 8)
        right.move(w - 18, h // 2 - 8)
        top.move(w // 2 - 5, 4)
        bottom.move(w // 2 - 5, h - 22)
