"""Editing from the views: brushes, the click tool, fill and interpolation, undo, lesion review.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`; every edit is a Qt-free tool on the label
map (``edit.tools``, ``edit.clicks``), refused while a job runs (``_can_edit``).
"""

from __future__ import annotations

import numpy as np
from PySide6 import QtWidgets

from ..edit import tools
from ..labels import TUMOUR
from ..planes import Plane
from ..viewstate import Tool
from ..workflow import plan_click, smooth_liver_in_background


class EditActions:
    def _pointer(self, plane: Plane, voxel, phase: str) -> None:
        if self.document is None:
            return
        if voxel is None:  # the drag ended outside the image
            if phase == "finish":
                self.document.labels.end_stroke()
                self._update_actions()
            return
        settings = self.view_state.tools
        tool = settings.tool
        if tool is Tool.CLICK and phase in ("click", "click-") and self.worker is None:
            self._set_cursor(voxel)
            self.click_at(voxel, positive=phase == "click")
            return
        if phase == "click-":
            return  # right-click / Shift+click only mean something to the click tool
        if not tool.paints or self.worker is not None:
            self._set_cursor(voxel)
            return
        vol = self.document.volume
        mode = tools.PAINT
        if tool is Tool.ERASE:
            mode = tools.ERASE_LABEL if settings.erase_only_label else tools.ERASE
        if phase == "start":
            self.document.labels.begin_stroke()
        kwargs = {}
        if tool is Tool.THRESHOLD:
            kwargs = {"hu": vol.array, "hu_range": settings.hu_range}
        tools.brush(self.document.labels, voxel, settings.radius_mm, vol.spacing, settings.label, mode,
                    plane=None if tool is Tool.SPHERE else plane, **kwargs)
        if phase == "finish":
            self.document.labels.end_stroke()
            self._update_actions()

    def click_at(self, voxel, positive: bool = True) -> None:
        """The click tool: confirm a candidate under the click, else segment/remove a lesion or grow/cut the liver."""
        if not self._can_edit():
            return
        target = "tumour" if self.view_state.tools.label == TUMOUR else "liver"
        if target == "tumour" and positive:
            hit = next(((n, c) for n, c in self.document.pending_candidates() if c.contains(voxel)), None)
            if hit:
                tools.confirm_candidate(self.document.labels, hit[1].box, hit[1].mask, f"candidate {hit[0]}")
                return
        # Planned in a worker (the learned net takes a few hundred ms) and applied here as one undo step;
        # the labels it reads cannot change meanwhile: edits and opening wait while a job runs.
        doc, models = self.document, self.models
        labels, prob, previous = doc.labels.data, doc.tumour_probability, doc.labels.clicks()
        self._start_job(lambda w: plan_click(labels, doc.volume, voxel, target, positive, prob, models.click_net(),
                                             previous=previous),
                        self._click_planned, self._click_failed, "Segmenting at the click...")

    def smooth_liver_ahead(self) -> None:
        """Smooth the CT within the liver (and, once, within soft tissue) in a thread as lesion clicks will look at
        it, so even the first click finds that done (``workflow.smooth_liver_in_background``): half a second after the
        labels last changed (a segmentation, a loaded mask, a stroke, a click), only what is not done yet or what the
        change reached. A run for earlier labels stops."""
        self.stop_smoothing_ahead()
        if self.document is not None and self.document.has_labels:
            self.smoothing_ahead = smooth_liver_in_background(self.document.volume, self.document.labels.data)

    def stop_smoothing_ahead(self) -> None:
        if self.smoothing_ahead is not None:
            self.smoothing_ahead[1].set()
            self.smoothing_ahead = None

    def _click_planned(self, edit) -> None:
        self._end_work()
        if edit is None or edit.apply(self.document.labels) is None:
            self.status.showMessage("Nothing changed: no clear region at the click (try the brush)", 6000)
        self.sigClicked.emit()

    def _click_failed(self, message: str) -> None:
        self._end_work()
        self.error("Click", message)

    def _labels_changed(self, box) -> None:
        for v in self.views.values():
            s = box[v.plane.axis]
            if s.start <= v.index < s.stop:
                v.refresh_labels()
        self.measure_timer.start()
        self.autosave_timer.start()
        self.smoothing_timer.start()
        self._update_title()
        if not self.document.labels.in_stroke:  # a drag's dabs leave the undo stack alone until it ends
            self._update_actions()

    def undo(self) -> None:
        if self.document and self.worker is None:
            self.document.labels.end_stroke()
            self.document.labels.undo()

    def redo(self) -> None:
        if self.document and self.worker is None:
            self.document.labels.redo()

    def _can_edit(self) -> bool:
        """Edits need an open scan and no job running (a segmentation would overwrite them)."""
        if self.document is None:
            return False
        if self.worker is not None:
            self.status.showMessage("Busy: wait for the running job or cancel it before editing", 6000)
            return False
        return True

    def interpolate_dialog(self) -> None:
        if not self._can_edit():
            return
        n = self.document.volume.shape[2]
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
        tools.interpolate_slices(self.document.labels, Plane.AXIAL, a, b, self.view_state.tools.label, self.document.volume.spacing)

    def flood_fill_at_cursor(self) -> None:
        if not self._can_edit():
            return
        if tools.flood_fill(self.document.labels, self.view_state.cursor, Plane.AXIAL, self.view_state.tools.label) is None:
            self.status.showMessage("Nothing filled: the region at the cursor is not closed on this slice", 6000)

    def remove_islands(self) -> None:
        if self._can_edit():
            tools.remove_islands(self.document.labels, self.document.volume.voxel_volume_ml)

    def tumour_inside_liver(self) -> None:
        if self._can_edit():
            tools.keep_tumour_inside_liver(self.document.labels)

    def update_lesions(self) -> None:
        if self.document is None:
            return
        pending = self.document.pending_candidates()
        analysis = self.document.analysis() if self.document.has_labels else None
        self.lesion_panel.show_analysis(analysis, pending)
        self.banner.show_warnings(self.document.warnings())
        marks = None
        if pending:
            marks = np.zeros(self.document.volume.shape, bool, order="F")
            for _, c in pending:
                marks[c.box] |= c.mask
        for v in self.views.values():
            v.set_marks(marks)
            v.set_selected(None)  # the labels changed: the outline of a selected lesion may be stale

    def jump_to_lesion(self, key: int | str) -> None:
        if isinstance(key, str):
            cand = dict(self.document.pending_candidates()).get(key)
            if cand is not None:
                self._set_cursor(cand.centroid_voxel)
            return
        les = next((x for x in self.document.analysis().lesions if x.number == key), None)
        if les is not None:
            self._set_cursor(les.centroid_voxel)
            mask = tools.lesion_mask(self.document.labels.data, les.centroid_voxel)
            for v in self.views.values():
                v.set_selected(mask)

    def _lesion_status(self, number: int | str, status: str) -> None:
        if isinstance(number, str):  # a candidate: accept confirms it (one undo step); reject leaves it out
            cand = dict(self.document.pending_candidates()).get(number)
            if cand is not None and status == "accepted" and self._can_edit():
                tools.confirm_candidate(self.document.labels, cand.box, cand.mask, f"candidate {number}")
            return
        if not self._can_edit():
            return
        if any(x.number == number for x in self.document.analysis().lesions):
            self.document.set_status(number, status)
        self.update_lesions()
