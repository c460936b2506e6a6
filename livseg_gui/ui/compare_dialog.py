"""File > Compare with prior: the prior study beside the current one, scrolling linked through the livers'
alignment, with the lesion table of the comparison (prior and current numbers side by side)."""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from ..planes import Plane
from .slice_view import SliceView


class CompareDialog(QtWidgets.QDialog):
    def __init__(self, result: dict, cmp, prior, current, parent=None):
        """``result``: the comparison dict; ``cmp``: the Comparison; ``prior``/``current``: (volume, labels)."""
        super().__init__(parent)
        self.setObjectName("compare_dialog")
        self.setWindowTitle("Follow-up comparison")
        self.cmp, self.prior, self.current = cmp, prior, current
        self.views = []
        pair = QtWidgets.QHBoxLayout()
        for title, (vol, lab) in (("Prior", prior), ("Current", current)):
            box = QtWidgets.QVBoxLayout()
            box.addWidget(QtWidgets.QLabel(f"<b>{title}</b>: {vol.meta.series_description or vol.meta.source_path}"))
            v = SliceView(Plane.AXIAL)
            v.set_volume(vol, lab)
            box.addWidget(v, 1)
            pair.addLayout(box, 1)
            self.views.append(v)
        self.views[1].sigSliceChanged.connect(self._current_scrolled)
        r = result["recist"]
        pct = "" if r["change_percent"] is None else f" ({r['change_percent']:+.1f} %)"
        summary = QtWidgets.QLabel(
            f"<b>RECIST 1.1: {r['category']}</b> - {r['reason']}. Sum of target diameters {r['baseline_sum_mm']:.1f} -> "
            f"{r['current_sum_mm']:.1f} mm{pct}. {len(result['matched'])} matched, {len(result['new'])} new, "
            f"{len(result['resolved'])} resolved.")
        summary.setWordWrap(True)
        self.table = QtWidgets.QTableWidget(0, 5)
        self.table.setObjectName("compare_table")
        self.table.setHorizontalHeaderLabels(["Prior #", "Current #", "Status", "Longest mm", "Volume mL"])
        self.table.setSelectionBehavior(QtWidgets.QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
        self.rows: list[tuple] = []
        for m in cmp.matched:
            self.rows.append((m.prior, m.current, "matched"))
        self.rows += [(les, None, "resolved") for les in cmp.resolved] + [(None, les, "new") for les in cmp.new]
        self.table.setRowCount(len(self.rows))
        for i, (p, c, status) in enumerate(self.rows):
            vals = (p.number if p else "-", c.number if c else "-", status,
                    f"{p.longest_diameter_mm if p else 0:.1f} -> {c.longest_diameter_mm if c else 0:.1f}",
                    f"{p.volume_ml if p else 0:.2f} -> {c.volume_ml if c else 0:.2f}")
            for j, v in enumerate(vals):
                self.table.setItem(i, j, QtWidgets.QTableWidgetItem(str(v)))
        self.table.itemSelectionChanged.connect(self._jump)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(summary)
        lay.addLayout(pair, 1)
        lay.addWidget(self.table)
        self.resize(1100, 720)

    def _current_scrolled(self, _plane, index: int) -> None:
        """Show the prior slice at the same anatomical height (current S minus the livers' S shift)."""
        pv, cv = self.prior[0], self.current[0]
        s = cv.voxel_to_lps(np.array([0.0, 0.0, index]))[2] - self.cmp.shift_mm[2]
        k = int(round((s - pv.voxel_to_lps(np.zeros(3))[2]) / pv.spacing[2]))
        self.views[0].set_index(k)

    def _jump(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            return
        p, c, _ = self.rows[rows[0].row()]
        if c is not None:
            self.views[1].set_cursor(np.array(c.centroid_voxel))
        if p is not None:
            self.views[0].set_cursor(np.array(p.centroid_voxel))


def ask_prior(parent) -> tuple[str, str | None] | None:
    """(prior CT path, its mask or None); None when cancelled."""
    path, _ = QtWidgets.QFileDialog.getOpenFileName(parent, "Prior study (CT)", "", "NIfTI (*.nii *.nii.gz);;All files (*)")
    if not path:
        path = QtWidgets.QFileDialog.getExistingDirectory(parent, "Prior study (DICOM folder)")
    if not path:
        return None
    mask, _ = QtWidgets.QFileDialog.getOpenFileName(
        parent, "Prior mask (cancel: LivSeg segments the prior itself)", "", "Masks (*.nii *.nii.gz *.dcm)")
    return path, (mask or None)



