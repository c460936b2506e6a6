"""Editing from the views: brushes, the click tool, fill and interpolation, undo, lesion review.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`; every edit is a Qt-free tool on the label
map (``edit.tools``, ``edit.clicks``), refused while a job runs (``_can_edit``).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from ..edit import tools
from ..planes import Plane


class EditActions:
    def _pointer(self, plane: Plane, voxel, phase: str) -> None:
        if self.session is None:
            return
        if voxel is None:  # the drag ended outside the image
            if phase == "finish":
                self.session.labels.end_stroke()
                self._update_actions()
            return
        tool = self.tool_panel.tool
        if tool == "click" and phase in ("click", "click-") and self.worker is None:
            self._set_cursor(voxel)
            self.click_at(voxel, positive=phase == "click")
            return
        if phase == "click-":
            return  # right-click / Shift+click only mean something to the click tool
        if tool in ("navigate", "click") or self.worker is not None:
            self._set_cursor(voxel)
            return
        tp = self.tool_panel
        vol = self.session.volume
        mode = tools.PAINT
        if tool == "erase":
            mode = tools.ERASE_LABEL if tp.erase_only.isChecked() else tools.ERASE
        if phase == "start":
            self.session.labels.begin_stroke()
        kwargs = {}
        if tool == "threshold":
            kwargs = {"hu": vol.array, "hu_range": (tp.hu_lo.value(), tp.hu_hi.value())}
        tools.brush(self.session.labels, voxel, tp.radius.value(), vol.spacing, tp.label, mode,
                    plane=None if tool == "sphere" else plane, **kwargs)
        if phase == "finish":
            self.session.labels.end_stroke()
            self._update_actions()

    def click_at(self, voxel, positive: bool = True) -> None:
        """The click tool: confirm a candidate under the click, else segment/remove a lesion or grow/cut the liver."""
        if not self._can_edit():
            return
        target = "tumour" if self.tool_panel.label == 2 else "liver"
        if target == "tumour" and positive:
            hit = next(((n, c) for n, c in self.session.pending_candidates() if c.contains(voxel)), None)
            if hit:
                tools.confirm_candidate(self.session.labels, hit[1].box, hit[1].mask, f"candidate {hit[0]}")
                return
        from ..workflow import apply_click

        change = apply_click(self.session.labels, self.session.volume, voxel, target, positive,
                             self.session.tumour_probability)
        if change is None:
            self.status.showMessage("Nothing changed: no clear region at the click (try the brush)", 6000)

    def _labels_changed(self, box) -> None:
        for v in self.views.values():
            s = box[v.plane.axis]
            if s.start <= v.index < s.stop:
                v.refresh_labels()
        self.measure_timer.start()
        self.autosave_timer.start()
        self._update_title()
        self._update_actions()

    def undo(self) -> None:
        if self.session and self.worker is None:
            self.session.labels.end_stroke()
            self.session.labels.undo()

    def redo(self) -> None:
        if self.session and self.worker is None:
            self.session.labels.redo()

    def _can_edit(self) -> bool:
        """Edits need an open scan and no job running (a segmentation would overwrite them)."""
        if self.session is None:
            return False
        if self.worker is not None:
            self.status.showMessage("Busy: wait for the running job or cancel it before editing", 6000)
            return False
        return True

    def interpolate_dialog(self) -> None:
        if not self._can_edit():
            return
        n = self.session.volume.shape[2]
        k = self.views[Plane.AXIAL].index + 1
        text, ok = QtWidgets.QInputDialog.getText(
            self, "Fill between slices", f"Interpolate the active label between axial slices (1..{n}), e.g. '{k},{min(n, k + 5)}':")
        if not ok:
            return
        try:
            a, b = (int(x) - 1 for x in text.replace(" ", "").split(","))
        except ValueError:
            self.error("Fill between slices", "enter two slice numbers separated by a comma")
            return
        if not (0 <= a < n and 0 <= b < n) or abs(a - b) < 2:
            self.error("Fill between slices", f"enter two slices between 1 and {n}, at least two apart")
            return
        if not self._can_edit():  # a job may have started while the dialog was open
            return
        tools.interpolate_slices(self.session.labels, Plane.AXIAL, a, b, self.tool_panel.label, self.session.volume.spacing)

    def flood_fill_at_cursor(self) -> None:
        if self._can_edit() and tools.flood_fill(self.session.labels, self.cursor, Plane.AXIAL, self.tool_panel.label) is None:
            self.status.showMessage("Nothing filled: the region at the cursor is not closed on this slice", 6000)

    def remove_islands(self) -> None:
        if self._can_edit():
            tools.remove_islands(self.session.labels, self.session.volume.voxel_volume_ml)

    def tumour_inside_liver(self) -> None:
        if self._can_edit():
            tools.keep_tumour_inside_liver(self.session.labels)

    def update_lesions(self) -> None:
        if self.session is None:
            return
        pending = self.session.pending_candidates()
        analysis = self.session.analysis() if self.session.has_labels else None
        self.lesion_panel.show_analysis(analysis, pending)
        warnings = list(self._job_warnings)
        if analysis is not None:
            warnings += [w for w in analysis.warnings if w not in warnings]
            unsure = [les.number for les in analysis.lesions if les.confidence is not None and les.confidence < 0.9]
            if unsure:
                warnings.append(f"low model confidence for lesion(s) {', '.join(map(str, unsure))}: review them")
        if pending:
            warnings.append(f"{len(pending)} candidate region(s) below the model's threshold, outlined in yellow: "
                            "confirm (Accept) or leave them out")
        self.banner.show_warnings(warnings)
        marks = None
        if pending:
            marks = np.zeros(self.session.volume.shape, bool, order="F")
            for _, c in pending:
                marks[c.box] |= c.mask
        for v in self.views.values():
            v.set_marks(marks)
            v.set_selected(None)  # the labels changed: the outline of a selected lesion may be stale

    def jump_to_lesion(self, key: int | str) -> None:
        if isinstance(key, str):
            cand = dict(self.session.pending_candidates()).get(key)
            if cand is not None:
                self._set_cursor(cand.centroid_voxel)
            return
        les = next((x for x in self.session.analysis().lesions if x.number == key), None)
        if les is not None:
            self._set_cursor(les.centroid_voxel)
            mask = tools.lesion_mask(self.session.labels.data, les.centroid_voxel)
            for v in self.views.values():
                v.set_selected(mask)

    def _lesion_status(self, number: int | str, status: str) -> None:
        if isinstance(number, str):  # a candidate: accept confirms it (one undo step); reject leaves it out
            cand = dict(self.session.pending_candidates()).get(number)
            if cand is not None and status == "accepted" and self._can_edit():
                tools.confirm_candidate(self.session.labels, cand.box, cand.mask, f"candidate {number}")
            return
        if not self._can_edit():
            return
        if any(x.number == number for x in self.session.analysis().lesions):
            self.session.set_status(number, status)
        self.update_lesions()
