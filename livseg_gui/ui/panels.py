"""Side panels: the tool palette, the overlay controls and the lesion review table."""

from __future__ import annotations

from PySide6 import QtCore, QtGui, QtWidgets

from ..labels import COLOURS, LIVER, NAMES, TUMOUR
from ..measure.lesions import LiverAnalysis
from ..viewstate import Tool, ToolSettings

TOOLS = tuple(t.value for t in Tool)
TOOL_TIPS = {
    "navigate": "Move the crosshair",
    "paint": "Paint the active label with a round brush",
    "erase": "Erase with a round brush",
    "threshold": "Paint only voxels inside the HU range",
    "sphere": "Paint a 3-D ball",
    "click": "One click: with Tumour, segments the lesion under the click in 3-D (beside a lesion, extends it to "
             "the click); with Liver, grows the liver into the missed part. Shift+click or right-click removes: a "
             "false lesion, or a liver leak (heart, stomach) cut along the fat line or at its neck",
}


class ToolPanel(QtWidgets.QGroupBox):
    sigChanged = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__("Tools", parent)
        self.group = QtWidgets.QButtonGroup(self)
        grid = QtWidgets.QGridLayout(self)
        for i, name in enumerate(TOOLS):
            b = QtWidgets.QToolButton(text=name.capitalize(), checkable=True)
            b.setObjectName(f"tool_{name}")
            b.setToolTip(f"{TOOL_TIPS[name]} ({Tool(name).key})")
            b.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            b.setMinimumWidth(70)
            self.group.addButton(b, i)
            grid.addWidget(b, i // 3, i % 3)
        self.group.button(0).setChecked(True)
        self.group.idToggled.connect(lambda *_: self.sigChanged.emit())
        form = QtWidgets.QFormLayout()
        self.label_box = QtWidgets.QComboBox()
        self.label_box.addItem("Liver", LIVER)
        self.label_box.addItem("Tumour", TUMOUR)
        self.label_box.setCurrentIndex(1)
        self.radius = QtWidgets.QDoubleSpinBox(suffix=" mm", minimum=0.5, maximum=60.0, value=5.0, singleStep=0.5)
        self.radius.setObjectName("brush_radius")
        lo, hi = ToolSettings().hu_range  # the liver window
        self.hu_lo = QtWidgets.QSpinBox(minimum=-1024, maximum=3000, value=int(lo), suffix=" HU")
        self.hu_hi = QtWidgets.QSpinBox(minimum=-1024, maximum=3000, value=int(hi), suffix=" HU")
        self.erase_only = QtWidgets.QCheckBox("Erase only the active label")
        self.erase_only.setChecked(True)  # erasing tumour gives liver back, not a hole in the liver
        self.erase_only.setToolTip("On: erasing tumour turns it back into liver; erasing liver clears it. "
                                   "Off: the eraser clears everything under it to background")
        self.label_box.setToolTip("The label the brushes paint and the click tool segments")
        self.radius.setToolTip("Brush radius in millimetres ([ smaller, ] larger)")
        self.hu_lo.setToolTip("Threshold tool: lowest HU painted")
        self.hu_hi.setToolTip("Threshold tool: highest HU painted")
        form.addRow("Label", self.label_box)
        form.addRow("Radius", self.radius)
        form.addRow("Threshold from", self.hu_lo)
        form.addRow("Threshold to", self.hu_hi)
        form.addRow(self.erase_only)
        grid.addLayout(form, 2, 0, 1, 3)
        for w in (self.label_box, self.radius, self.hu_lo, self.hu_hi):
            sig = w.currentIndexChanged if isinstance(w, QtWidgets.QComboBox) else w.valueChanged
            sig.connect(lambda *_: self.sigChanged.emit())
        self.erase_only.toggled.connect(lambda *_: self.sigChanged.emit())

    @property
    def tool(self) -> str:
        return TOOLS[self.group.checkedId()]

    def set_tool(self, name: str) -> None:
        self.group.button(TOOLS.index(name)).setChecked(True)

    @property
    def label(self) -> int:
        return int(self.label_box.currentData())

    def grow(self, factor: float) -> None:
        self.radius.setValue(self.radius.value() * factor)


class OverlayPanel(QtWidgets.QGroupBox):
    sigChanged = QtCore.Signal()

    def __init__(self, parent=None):
        super().__init__("Overlay", parent)
        form = QtWidgets.QFormLayout(self)
        self.opacity = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal, minimum=0, maximum=100, value=45)
        self.opacity.setToolTip("Overlay opacity")
        self.outline = QtWidgets.QCheckBox("Outline only")
        self.outline.setToolTip("Draw label edges only, to see the CT under them")
        self.toggles = {}
        form.addRow("Opacity", self.opacity)
        form.addRow(self.outline)
        for value in (LIVER, TUMOUR):
            cb = QtWidgets.QCheckBox(NAMES[value], checked=True)
            cb.setToolTip(f"Show or hide the {NAMES[value].lower()} overlay")
            pix = QtGui.QPixmap(14, 14)
            pix.fill(QtGui.QColor(*COLOURS[value]))
            cb.setIcon(QtGui.QIcon(pix))  # the legend: each toggle shows its colour
            self.toggles[value] = cb
            form.addRow(cb)
            cb.toggled.connect(lambda *_: self.sigChanged.emit())
        self.opacity.valueChanged.connect(lambda *_: self.sigChanged.emit())
        self.outline.toggled.connect(lambda *_: self.sigChanged.emit())

    def state(self) -> tuple[float, bool, dict[int, bool]]:
        return self.opacity.value() / 100, self.outline.isChecked(), {v: cb.isChecked() for v, cb in self.toggles.items()}


class LesionPanel(QtWidgets.QWidget):
    sigJump = QtCore.Signal(object)  # lesion number (int) or candidate name ("C1")
    sigStatus = QtCore.Signal(object, str)  # the same key, "accepted" / "rejected"

    COLUMNS = ("#", "Status", "Conf. %", "Volume mL", "Longest mm", "Short mm", "Slice", "Hemiliver*", "Segments*",
               "Depth mm")

    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QtWidgets.QLabel("No segmentation yet")
        self.summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, len(self.COLUMNS))
        self.table.setObjectName("lesion_table")
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QtWidgets.QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemSelectionChanged.connect(self._selected)
        accept = QtWidgets.QPushButton("Accept / confirm")
        accept.setToolTip("Accept the selected lesion, or confirm a candidate (C#) as a lesion")
        reject = QtWidgets.QPushButton("Reject")
        reject.setToolTip("Reject the selected lesion (it becomes liver; undoable)")
        accept.clicked.connect(lambda: self._status("accepted"))
        reject.clicked.connect(lambda: self._status("rejected"))
        note = QtWidgets.QLabel("* approximate (geometric split of the liver). Slice: where the diameters are "
                                "measured. C#: below-threshold candidate, "
                                "outlined in yellow, not counted until confirmed")
        note.setWordWrap(True)
        note.setStyleSheet("color: grey; font-size: 10px")
        buttons = QtWidgets.QHBoxLayout()
        buttons.addWidget(accept)
        buttons.addWidget(reject)
        layout = QtWidgets.QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        layout.addWidget(note)
        self.numbers: list[int | str] = []

    def show_analysis(self, a: LiverAnalysis | None, candidates: list | tuple = ()) -> None:
        if a is None:
            self.summary.setText("No segmentation yet")
            self.table.setRowCount(0)
            self.numbers = []
            return
        extra = f" - {len(candidates)} candidate(s) to review" if candidates else ""
        self.summary.setText(
            f"Liver {a.liver_volume_ml:.0f} mL - {len(a.lesions)} lesion(s) - "
            f"tumour {a.tumour_volume_ml:.1f} mL - burden {a.burden_percent:.1f} %{extra}"
        )
        selected = self.current()
        self.table.blockSignals(True)
        self.table.setRowCount(len(a.lesions) + len(candidates))
        self.numbers = [les.number for les in a.lesions] + [name for name, _ in candidates]
        rows = []
        for les in a.lesions:
            conf = "" if les.confidence is None else f"{100 * les.confidence:.0f}"
            rows.append((les.number, les.status, conf, f"{les.volume_ml:.2f}", f"{les.longest_diameter_mm:.1f}",
                         f"{les.short_axis_mm:.1f}", les.slice + 1, les.hemiliver, ", ".join(les.segments),
                         f"{les.depth_mm:.1f}"))
        for name, cand in candidates:
            rows.append((name, "candidate", f"{100 * cand.confidence:.0f}", f"{cand.volume_ml:.2f}", "", "",
                         int(round(cand.centroid_voxel[2])) + 1, "", "", ""))
        for r, vals in enumerate(rows):
            for c, v in enumerate(vals):
                self.table.setItem(r, c, QtWidgets.QTableWidgetItem(str(v)))
        if selected in self.numbers:
            self.table.selectRow(self.numbers.index(selected))
        self.table.blockSignals(False)

    def current(self) -> int | str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.numbers[rows[0].row()] if rows and rows[0].row() < len(self.numbers) else None

    def move(self, delta: int) -> None:
        if not self.numbers:
            return
        cur = self.current()
        row = 0 if cur is None else (self.numbers.index(cur) + delta) % len(self.numbers)
        self.table.selectRow(row)

    def _selected(self) -> None:
        n = self.current()
        if n is not None:
            self.sigJump.emit(n)

    def _status(self, status: str) -> None:
        n = self.current()
        if n is not None:
            self.sigStatus.emit(n, status)
