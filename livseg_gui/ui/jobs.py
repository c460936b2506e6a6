"""Background jobs of the window: segmentation with live progress and preview, cancel, the self-test.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`; one job at a time runs in a :class:`Worker`.
"""

from __future__ import annotations

from PySide6 import QtWidgets

from .. import __version__
from .workers import Worker


class JobActions:
    def segment(self) -> None:
        if self.document is None or self.worker is not None:
            return
        if self.document.has_labels and (self.document.edited_since_segmentation or self.document.segmented_version is None):
            answer = QtWidgets.QMessageBox.question(
                self, "Replace the labels?",
                "Segmenting again replaces the current labels, including your edits (you can undo it). Continue?",
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
        volume, models = self.document.volume, self.models

        def job(w: Worker):
            return models.cascade().run(volume, progress=w.progress, cancel=w.cancelled, on_slab=w.slab)

        self.preview = volume.new_labels()
        for v in self.views.values():
            v.set_labels(self.preview)
        self._start_job(job, self._segmented, self._segment_failed, "Segmenting...", cancelled=self._segment_cancelled,
                        staged=True)

    def _segment_failed(self, message: str) -> None:
        self._segment_over()
        self.error("Segmentation failed", message)

    def _segment_cancelled(self) -> None:
        self._segment_over()
        self.status.showMessage("Segmentation cancelled", 5000)

    def _progress(self, fraction: float, stage: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{stage} %p%")

    def _slab(self, k0: int, k1: int, data) -> None:
        if self.preview is not None:
            self.preview[:, :, k0:k1] = data
            for v in self.views.values():
                if v.plane.axis != 2 or k0 <= v.index < k1:  # an axial view elsewhere shows nothing new
                    v.refresh_labels()

    def _segment_over(self) -> None:
        self.preview = None
        self._end_work()
        if self.document:
            for v in self.views.values():
                v.set_labels(self.document.labels.data)

    def _segmented(self, result) -> None:
        self._segment_over()
        self.document.set_segmentation(result)
        t = result.timings
        self.status.showMessage(f"Segmented in {t['total_s']:.1f} s", 15000)
        self.update_lesions()
        self.sigSegmented.emit()

    def cancel_work(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _begin_work(self, message: str) -> None:
        self.status.showMessage(message)
        self.progress.setFormat("%p%")
        self.progress.setValue(0)
        self._update_actions()

    def _end_work(self) -> None:
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
        self.progress.setRange(0, 1000)
        self.progress.setValue(0)
        self.progress.setFormat("Ready")
        self.cancel_button.setVisible(False)
        self.status.clearMessage()
        self._update_actions()

    def _start_job(self, fn, done, failed, message: str, cancelled=None, staged: bool = False) -> None:
        """Run ``fn(worker)`` in the window's one job slot. ``done``/``failed``/``cancelled`` must be the window's
        own slot methods (not lambdas), so Qt queues the calls onto the GUI thread. ``staged``: the job reports
        per-stage progress and streamed slabs, and can be cancelled; otherwise the bar is indeterminate."""
        self.worker = Worker(fn)
        self.worker.sigDone.connect(done)
        self.worker.sigFailed.connect(failed)
        self.worker.sigCancelled.connect(cancelled or self._end_work)
        self._begin_work(message)
        if staged:
            self.progress.setRange(0, 1000)
            self.cancel_button.setVisible(True)
            self.worker.sigProgress.connect(self._progress)
            self.worker.sigSlab.connect(self._slab)
        else:
            self.progress.setRange(0, 0)
        self.worker.start()

    def about(self) -> None:
        """Show the version and run the self-test in a worker (it segments the bundled sample)."""
        if self.worker is not None:
            return
        from ..selftest import selftest_report

        self._start_job(lambda w: selftest_report(), self._about_done, self._about_done, "Running the self-test...")

    def _about_done(self, text) -> None:
        self._end_work()
        QtWidgets.QMessageBox.information(self, "About LivSeg", f"LivSeg {__version__}\n\n{text}\n\n"
                                          "Research use only. Not for diagnosis.")
