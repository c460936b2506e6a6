"""Opening scans, crash recovery, saving and exporting, follow-up comparison: the window's file side.

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow` (it uses the window's widgets and document);
the work itself lives in Qt-free modules (``io``, ``workflow``, ``report``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6 import QtWidgets

from ..edit.document import Document
from ..errors import LivSegError
from ..workflow import prepare_clicks_in_background

MAX_RECENT = 8


class FileActions:
    def open_file_dialog(self) -> None:
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open CT", str(self._last_dir()),
                                                        "NIfTI (*.nii *.nii.gz);;All files (*)")
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open_path(path)

    def open_folder_dialog(self) -> None:
        path = QtWidgets.QFileDialog.getExistingDirectory(self, "Open DICOM folder", str(self._last_dir()))
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.open_path(path)

    def open_path(self, path: str, series: str | None = None) -> None:
        """Scan (and, if needed, ask which series), then load in a worker thread.

        Refused while a job runs: its result belongs to the scan it started on, never to a new one.
        """
        if self.worker is not None:
            self.status.showMessage("A job is running: wait for it or cancel it before opening another scan", 8000)
            return
        if not self._confirm_discard():
            return
        from ..io import list_series

        if series is None and Path(path).is_dir():
            try:
                found = list_series(path)
            except LivSegError as exc:
                self.error("Cannot open", str(exc))
                return
            loadable = [s for s in found if s.problem is None]
            if len(loadable) > 1:
                from .dialogs import pick_series

                choice = pick_series(self, found)
                if choice is None:
                    return
                series = str(choice)
        self._start_load(path, series)

    def _start_load(self, path: str, series: str | None) -> None:
        from ..io import load_volume

        self._loading_path = path
        self._start_job(lambda w: load_volume(path, series), self._loaded, self._load_failed,
                        f"Loading {Path(path).name}...")

    def _load_failed(self, message: str) -> None:
        self._end_work()
        self.error("Cannot open", message)

    def _loaded(self, volume) -> None:
        path = self._loading_path
        self._end_work()
        self.stop_smoothing_ahead()
        self.document = Document(volume)
        self.document.events.labels.connect(self._labels_changed)
        self.document.events.warnings.connect(self.banner.show_warnings)
        self.preview = None
        for v in self.views.values():
            v.set_volume(volume, self.document.labels.data)
            v.set_window(*self.view_state.window)
        self._set_cursor(np.array(volume.shape, float) // 2)
        self._remember(path)
        self.banner.show_warnings(self.document.warnings())  # persistent: until the next scan or result
        self.lesion_panel.show_analysis(None)
        self._offer_recovery()
        self._update_title()
        self._update_actions()
        prepare_clicks_in_background(self.models)
        self.sigLoaded.emit()

    def _offer_recovery(self) -> None:
        meta = self.document.volume.meta
        rec = self.recovery.find(meta.source_path, meta.series_uid)
        if rec is None or rec.labels.shape != self.document.volume.shape or not rec.labels.any():
            return
        import datetime as dt

        when = dt.datetime.fromtimestamp(rec.saved_at).strftime("%Y-%m-%d %H:%M")
        changed = int(np.count_nonzero(rec.labels != self.document.labels.data))
        answer = QtWidgets.QMessageBox.question(
            self, "Restore unsaved edits?",
            f"LivSeg found edits to this scan that were not saved: the app closed unexpectedly. They were autosaved "
            f"on {when}, after {rec.version} edit step(s), and label {changed:,} voxels. Restore them? (No discards them.)",
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.document.labels.replace_all("restore edits", rec.labels)
        else:
            self.saver.discard(meta.source_path, meta.series_uid)

    def _save_path(self, title: str, suffix: str, filt: str) -> str | None:
        meta = self.document.volume.meta
        base = Path(meta.source_path)
        stem = base.name.removesuffix(".gz").removesuffix(".nii") if base.is_file() else base.name
        default = str(self._last_dir() / f"{stem}_livseg{suffix}")
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, title, default, filt)
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
        return path or None

    def _last_dir(self) -> Path:
        """Where file dialogs open: the last folder used, else Documents or home (never a bundle's temp folder)."""
        last = self.settings.value("last_dir", "")
        if last and Path(last).is_dir():
            return Path(last)
        docs = Path.home() / "Documents"
        return docs if docs.is_dir() else Path.home()

    def save_mask(self, path: str) -> bool:
        from ..io.nifti import save_labels_nifti

        try:
            save_labels_nifti(self.document.labels.data, self.document.volume, path)
        except LivSegError as exc:
            self.error("Could not save", str(exc))
            return False
        self.document.labels.mark_saved()
        meta = self.document.volume.meta
        self.saver.discard(meta.source_path, meta.series_uid)
        self.status.showMessage(f"Saved {path}", 8000)
        self._update_title()
        return True

    def save_mask_dialog(self) -> bool:
        if self.document is None:
            return False
        path = self._save_path("Save mask", ".nii.gz", "NIfTI (*.nii.gz *.nii)")
        return bool(path) and self.save_mask(path)

    def compare_with_prior_dialog(self) -> None:
        from .compare_dialog import ask_prior

        if self._can_edit() and self.document.has_labels:
            choice = ask_prior(self)
            if choice:
                self.compare_with_prior(*choice)

    def compare_with_prior(self, prior: str, prior_mask: str | None = None) -> None:
        """Load (and if needed segment) the prior in a worker, then show both studies side by side."""
        from ..workflow import compare_studies

        s = self.document
        current = (s.volume, s.labels.data.copy(), s.analysis())
        self._start_job(lambda w: compare_studies(prior, current, prior_mask), self._compared, self._compare_failed,
                        "Comparing with the prior study...")

    def _compare_failed(self, message: str) -> None:
        self._end_work()
        self.error("Comparison failed", message)

    def _compared(self, out) -> None:
        from .compare_dialog import CompareDialog

        self._end_work()
        self.progress.setRange(0, 1000)
        result, cmp, prior, current = out
        self.compare_dialog = CompareDialog(result, cmp, prior, current, self)
        self.compare_dialog.show()
        self.sigCompared.emit()

    def export_seg_dialog(self) -> None:
        if self.document is None:
            return
        if self.document.volume.meta.source_format != "dicom":
            self.error("DICOM SEG", "A DICOM SEG must reference the DICOM images it segments. This CT was opened "
                                    "from NIfTI, so save the mask as NIfTI instead.")
            return
        path = self._save_path("Export DICOM SEG", "_seg.dcm", "DICOM (*.dcm)")
        if not path:
            return
        from ..io.seg import write_seg

        try:
            write_seg(self.document.labels.data, self.document.volume, path, edited=self.document.edited_since_segmentation)
            self.status.showMessage(f"Wrote {path}", 8000)
        except LivSegError as exc:
            self.error("Could not export SEG", str(exc))

    def export_report(self, pdf_path: str) -> str | None:
        """Write the PDF, JSON and CSV report; returns what the user should know about it (or None)."""
        from ..report import build_report, write_csv, write_json, write_pdf

        s = self.document
        analysis = s.analysis()
        model, note = {}, None
        try:
            from ..resources import models_dir
            from ..segment.modelcard import load_card

            model = load_card(models_dir()).report_entry()
        except LivSegError as exc:  # the report is still worth writing; say what it lacks
            note = f"the report names no model ({exc})"
        report = build_report(analysis, s.volume, model=model, anonymise=self.anonymise, rejected=s.rejected,
                              candidates=s.pending_candidates())
        stem = str(Path(pdf_path).with_suffix(""))
        write_pdf(report, analysis, s.volume, s.labels.data, pdf_path)
        write_json(report, stem + ".json")
        write_csv(report, stem + ".csv")
        return note

    def export_report_dialog(self) -> None:
        if self.document is None:
            return
        path = self._save_path("Export report", "_report.pdf", "PDF (*.pdf)")
        if not path:
            return
        try:
            note = self.export_report(path)
            self.status.showMessage(f"Wrote {path} (+ .json, .csv)" + (f"; {note}" if note else ""), 12000)
        except LivSegError as exc:
            self.error("Could not write the report", str(exc))

    def load_mask_dialog(self) -> None:
        if self.document is None:
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load mask", str(self._last_dir()),
                                                        "Masks (*.nii *.nii.gz *.dcm);;All files (*)")
        if path:
            self.settings.setValue("last_dir", str(Path(path).parent))
            self.load_mask(path)

    def load_mask(self, path: str) -> None:
        try:
            if path.lower().endswith(".dcm"):
                from ..io.seg import read_seg

                labels, notes = read_seg(path, self.document.volume)
                for n in notes:
                    self.status.showMessage(n, 8000)
            else:
                from ..io.nifti import load_labels_nifti

                labels = load_labels_nifti(path, self.document.volume)
        except LivSegError as exc:
            self.error("Cannot load mask", str(exc))
            return
        self.document.labels.replace_all(f"load {Path(path).name}", labels)
        self.update_lesions()

    def autosave(self) -> None:
        if self.document is None or not self.document.labels.modified:
            return
        meta = self.document.volume.meta
        # Only a copy happens here; compression and the atomic write run in the saver's thread.
        self.saver.request(self.document.labels.data, meta.source_path, meta.series_uid, self.document.labels.version)

    def _confirm_discard(self) -> bool:
        if self.document is None or not self.document.labels.modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved edits", "The current mask has unsaved edits. Save them first?",
            QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel,
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save_mask_dialog()
        if answer == QtWidgets.QMessageBox.StandardButton.Discard:
            meta = self.document.volume.meta
            self.saver.discard(meta.source_path, meta.series_uid)
            return True
        return False

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent():
            self.recent_menu.addAction(p).triggered.connect(lambda *_, p=p: self.open_path(p))

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: str) -> None:
        items = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()
