"""The open CT and its editable labels: what the GUI shows and the report describes. No Qt.

A :class:`Document` announces its changes through ``events`` (see :mod:`livseg_gui.events`):

- ``labels(box)``: voxels changed inside ``box`` (an edit, undo, redo, a new segmentation);
- ``segmentation()``: a new automatic result (candidates and probabilities changed too);
- ``review()``: a lesion's review status changed;
- ``warnings(list)``: the warnings to keep on screen changed.
"""

from __future__ import annotations

import numpy as np

from ..events import Events
from ..io.volume import Volume
from ..measure.lesions import LiverAnalysis, LiverGeometry, analyse
from .labelmap import LabelMap

STATUS_MATCH_MM = 10.0  # a re-measured lesion keeps the review status of one whose centre was this close
LOW_CONFIDENCE = 0.9  # lesions the net was less sure of are named in the warnings


class Document:
    def __init__(self, volume: Volume, labels: np.ndarray | None = None):
        self.volume = volume
        self.events = Events("labels", "segmentation", "review", "warnings")
        self.labels = LabelMap(labels if labels is not None else volume.new_labels())
        self.labels.listeners.append(self.events.labels.emit)
        self.segmented_version: int | None = None  # labels.version right after the last automatic run
        # (the undoable change that rejected a lesion, its measurements): a rejection counts while its
        # change is applied, so undoing a reject also undoes its review status.
        self._rejections: list[tuple[object, dict]] = []
        self._statuses: list[tuple[np.ndarray, str]] = []  # (centroid mm, status)
        self._geometry: tuple[int, LiverGeometry] | None = None
        self._analysis: tuple[int, LiverAnalysis] | None = None
        self._numbers: dict[int, np.ndarray] = {}  # lesion number -> its last centroid (mm), see _stable_numbers
        # From the last automatic run (segment.confidence): the tumour net's probabilities and the
        # below-threshold candidates. Whether a candidate is confirmed is read off the labels, so undo
        # and redo keep it right without bookkeeping.
        self.tumour_probability = None
        self.candidates: list = []
        self.job_warnings: list[str] = []  # the last segmentation's own warnings (e.g. no liver found)
        from ..io.seg import seg_unavailable_reason

        self.seg_unavailable: str | None = seg_unavailable_reason(volume)  # why DICOM SEG export cannot be made

    def set_segmentation(self, result) -> None:
        """Take a cascade result (labels, candidates, probabilities) as one undo step."""
        self.tumour_probability = result.tumour_probability
        self.candidates = list(result.candidates)
        self.job_warnings = list(result.warnings)
        self._analysis = None
        self._numbers = {}  # a new automatic result numbers its lesions afresh, largest first
        self.labels.replace_all("segment", result.labels)
        self.segmented_version = self.labels.version
        self.events.segmentation.emit()
        self.events.warnings.emit(self.warnings())

    def warnings(self) -> list[str]:
        """What must stay on screen (the banner): the scan's and the segmentation's warnings, the liver's
        (partial coverage, small liver), low-confidence lesions and candidates waiting for review."""
        out = list(self.volume.warnings) + [w for w in self.job_warnings if w not in self.volume.warnings]
        pending = self.pending_candidates()
        if self.has_labels:
            analysis = self.analysis()
            out += [w for w in analysis.warnings if w not in out]
            unsure = [les.number for les in analysis.lesions if les.confidence is not None and les.confidence < LOW_CONFIDENCE]
            if unsure:
                out.append(f"low model confidence for lesion(s) {', '.join(map(str, unsure))}: review them")
        if pending:
            out.append(f"{len(pending)} candidate region(s) below the model's threshold, outlined in yellow: "
                       "confirm (Accept) or leave them out")
        return out

    def pending_candidates(self) -> list[tuple[str, object]]:
        """(name, candidate) for every candidate not yet confirmed; names are stable ("C1", "C2", ...)."""
        out = []
        for i, c in enumerate(self.candidates, start=1):
            if (self.labels.data[c.box][c.mask] == 2).mean() < 0.5:
                out.append((f"C{i}", c))
        return out

    @property
    def edited_since_segmentation(self) -> bool:
        return self.segmented_version is not None and self.labels.version != self.segmented_version

    @property
    def has_labels(self) -> bool:
        return bool(self.labels.data.any())

    def analysis(self) -> LiverAnalysis:
        """Measurements of the current labels; liver geometry is reused while only tumour changes."""
        lm = self.labels
        if self._analysis and self._analysis[0] == lm.version:
            return self._analysis[1]
        if not self._geometry or self._geometry[0] != lm.liver_version:
            self._geometry = (lm.liver_version, LiverGeometry(lm.data >= 1, np.asarray(self.volume.spacing)))
        prob = self.tumour_probability
        result = analyse(lm.data, self.volume, self._geometry[1], confidence=prob.peak if prob else None)
        for les in result.lesions:
            les.status = self._status_near(np.array(les.centroid_mm))
        self._stable_numbers(result)
        self._analysis = (lm.version, result)
        return result

    def _stable_numbers(self, result: LiverAnalysis) -> None:
        """Keep each lesion's number while the user edits: a lesion whose centre is within STATUS_MATCH_MM of
        a numbered one keeps that number; a new lesion takes the next free number (none is reused)."""
        taken: set[int] = set()
        for les in result.lesions:  # largest first: a big lesion keeps its number before a fragment does
            c = np.array(les.centroid_mm)
            near = [(float(np.linalg.norm(c - kc)), n) for n, kc in self._numbers.items() if n not in taken]
            d, n = min(near, default=(np.inf, 0))
            if d >= STATUS_MATCH_MM:
                n = max(self._numbers, default=0) + 1
            self._numbers[n] = c
            taken.add(n)
            les.number = n

    def _status_near(self, centroid: np.ndarray) -> str:
        best, status = STATUS_MATCH_MM, "unreviewed"
        for c, s in self._statuses:
            d = float(np.linalg.norm(c - centroid))
            if d < best:
                best, status = d, s
        return status

    @property
    def rejected(self) -> list[dict]:
        """Measurements of the lesions the user rejected (and has not un-done), for the report."""
        applied = {id(c) for c in self.labels.undo_stack}
        return [entry for change, entry in self._rejections if id(change) in applied]

    def set_status(self, lesion_number: int, status: str) -> None:
        """Accept a lesion, or reject it: its voxels go back to liver as one undo step."""
        from .tools import reject_lesion

        les = next(les for les in self.analysis().lesions if les.number == lesion_number)
        c = np.array(les.centroid_mm)
        if status == "rejected":
            entry = {**les.as_dict(), "status": "rejected", "slice": les.slice + 1,
                     "slice_range": [les.slice_range[0] + 1, les.slice_range[1] + 1]}
            change = reject_lesion(self.labels, les.centroid_voxel, lesion_number)
            if change is not None:
                self._rejections.append((change, entry))
                self.events.review.emit()
            return
        self._statuses = [(cc, s) for cc, s in self._statuses if np.linalg.norm(cc - c) >= 1e-6]
        self._statuses.append((c, status))
        les.status = status
        self.events.review.emit()
