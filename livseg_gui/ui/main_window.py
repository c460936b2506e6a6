"""The main window: three linked views, tools, overlay controls, lesion review, menus."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..edit import tools
from ..edit.autosave import BackgroundSaver, RecoveryStore
from ..edit.session import Session
from ..errors import LivSegError
from ..planes import Plane, lps_text
from .banner import Banner
from .panels import LesionPanel, OverlayPanel, ToolPanel
from .shortcuts import show_shortcuts
from .slice_view import SliceView
from .workers import Worker

log = logging.getLogger("livseg.ui")

WINDOW_PRESETS = {
    "Abdomen (W400 L40)": (400.0, 40.0),
    "Liver (W150 L30)": (150.0, 30.0),
    "Bone (W1800 L400)": (1800.0, 400.0),
    "Lung (W1500 L-600)": (1500.0, -600.0),
}
MAX_RECENT = 8


class MainWindow(QtWidgets.QMainWindow):
    sigLoaded = QtCore.Signal()
    sigSegmented = QtCore.Signal()
    sigCompared = QtCore.Signal()
    sigAutosaveFailed = QtCore.Signal(str)  # emitted from the autosave thread, shown on the GUI thread

    def __init__(self, recovery: RecoveryStore | None = None):
        super().__init__()
        self.session: Session | None = None
        self.worker: Worker | None = None
        self.preview: np.ndarray | None = None
        self.recovery = recovery or RecoveryStore()
        self.saver = BackgroundSaver(self.recovery, on_error=self.sigAutosaveFailed.emit)
        self.sigAutosaveFailed.connect(lambda msg: self.status.showMessage(f"Autosave failed: {msg}", 8000))
        self.settings = QtCore.QSettings("LivSeg", "LivSeg")
        self.anonymise = False
        self.cursor = np.zeros(3)
        self._seg_reason: str | None = None  # why DICOM SEG export is unavailable for the open scan
        self._job_warnings: list[str] = []  # the scan's and the last segmentation's warnings (banner)
        self.setAcceptDrops(True)
        self.setMinimumSize(960, 600)  # works down to 1024x640 screens; nothing hard-coded above it
        self._fit_to_screen()

        self.views = {p: SliceView(p) for p in Plane}
        # Axial large on the left; coronal above sagittal on the right (ITK-SNAP users expect all three).
        split = QtWidgets.QSplitter()
        right = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        split.addWidget(self.views[Plane.AXIAL])
        right.addWidget(self.views[Plane.CORONAL])
        right.addWidget(self.views[Plane.SAGITTAL])
        split.addWidget(right)
        split.setSizes([700, 450])
        for v in self.views.values():
            v.sigPointer.connect(self._pointer)
            v.sigHover.connect(self._hover)
            v.sigWindowDrag.connect(self._window_drag)
            v.sigMaximise.connect(self.toggle_maximised)
        self.banner = Banner()
        central = QtWidgets.QWidget()
        lay = QtWidgets.QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)
        self.setCentralWidget(central)

        self.tool_panel = ToolPanel()
        self.overlay_panel = OverlayPanel()
        self.lesion_panel = LesionPanel()
        self.tool_panel.sigChanged.connect(self._tool_changed)
        self.overlay_panel.sigChanged.connect(self._overlay_changed)
        self.lesion_panel.sigJump.connect(self.jump_to_lesion)
        self.lesion_panel.sigStatus.connect(self._lesion_status)
        side = QtWidgets.QWidget()
        col = QtWidgets.QVBoxLayout(side)
        self.segment_button = QtWidgets.QPushButton("Segment liver && tumours (Ctrl+G)")
        self.segment_button.setObjectName("segment_button")
        self.segment_button.setToolTip("Run the liver and tumour networks on this scan (Ctrl+G); the result is one undo step")
        self.segment_button.clicked.connect(self.segment)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_work)
        self.window_box = QtWidgets.QComboBox()
        self.window_box.addItems(list(WINDOW_PRESETS))
        self.window_box.setToolTip("Window/level presets (View menu, keys F1-F4); right-drag in a view adjusts it")
        self.window_box.currentTextChanged.connect(lambda t: self.set_window(*WINDOW_PRESETS[t]) if t in WINDOW_PRESETS else None)
        self.wl_label = QtWidgets.QLabel()
        self.wl_label.setObjectName("wl_label")
        col.addWidget(self.segment_button)
        col.addWidget(self.progress)
        col.addWidget(self.cancel_button)
        col.addWidget(QtWidgets.QLabel("Window / level"))
        col.addWidget(self.window_box)
        col.addWidget(self.wl_label)
        col.addWidget(self.tool_panel)
        col.addWidget(self.overlay_panel)
        col.addWidget(QtWidgets.QLabel("<b>Lesions</b>"))
        col.addWidget(self.lesion_panel, 1)
        dock = QtWidgets.QDockWidget("LivSeg")
        dock.setObjectName("side_dock")
        dock.setFeatures(QtWidgets.QDockWidget.DockWidgetFeature.NoDockWidgetFeatures)
        scroll = QtWidgets.QScrollArea()  # a short screen scrolls the side panel instead of cutting it off
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        side.setMinimumHeight(560)
        dock.setWidget(scroll)
        dock.setMinimumWidth(330)
        self.addDockWidget(QtCore.Qt.DockWidgetArea.RightDockWidgetArea, dock)

        self.status = self.statusBar()
        self.hu_label = QtWidgets.QLabel()
        self.status.addPermanentWidget(self.hu_label)
        self.window = WINDOW_PRESETS["Abdomen (W400 L40)"]
        self.measure_timer = QtCore.QTimer(self, singleShot=True, interval=250, timeout=self.update_lesions)
        self.autosave_timer = QtCore.QTimer(self, singleShot=True, interval=300, timeout=self.autosave)
        self._build_menus()
        self._update_title()
        self._update_actions()

    # -- menus ------------------------------------------------------------------------------
    def _fit_to_screen(self) -> None:
        screen = QtGui.QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen else QtCore.QRect(0, 0, 1280, 720)
        self.resize(max(self.minimumWidth(), min(1600, int(avail.width() * 0.92))),
                    max(self.minimumHeight(), min(1000, int(avail.height() * 0.9))))

    def _action(self, menu, text, slot, shortcut=None, name=None) -> QtGui.QAction:
        a = QtGui.QAction(text, self)
        if shortcut:
            a.setShortcut(QtGui.QKeySequence(shortcut))
            a.setToolTip(f"{text} ({a.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)})")
        a.triggered.connect(lambda *_: slot())
        if name:
            a.setObjectName(name)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self._action(m, "Open CT file...", self.open_file_dialog, QtGui.QKeySequence.StandardKey.Open)
        self._action(m, "Open DICOM folder...", self.open_folder_dialog, "Ctrl+Shift+O")
        self.recent_menu = m.addMenu("Open recent")
        self._fill_recent()
        m.addSeparator()
        self.act_load_mask = self._action(m, "Load mask (NIfTI or DICOM SEG)...", self.load_mask_dialog)
        self.act_save_mask = self._action(m, "Save mask as NIfTI...", self.save_mask_dialog, "Ctrl+S")
        self.act_seg = self._action(m, "Export DICOM SEG...", self.export_seg_dialog)
        self.act_report = self._action(m, "Export report (PDF, JSON, CSV)...", self.export_report_dialog, "Ctrl+E")
        self.act_compare = self._action(m, "Compare with prior...", self.compare_with_prior_dialog)
        anon = QtGui.QAction("Anonymise reports", self, checkable=True)
        anon.toggled.connect(lambda on: setattr(self, "anonymise", on))
        m.addAction(anon)
        m.addSeparator()
        self._action(m, "Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)

        e = self.menuBar().addMenu("&Edit")
        self.act_undo = self._action(e, "Undo", self.undo, QtGui.QKeySequence.StandardKey.Undo, "undo")
        self.act_redo = self._action(e, "Redo", self.redo, "Ctrl+Y", "redo")
        self.act_redo.setShortcuts([QtGui.QKeySequence("Ctrl+Y"), QtGui.QKeySequence("Ctrl+Shift+Z")])
        e.addSeparator()
        self._action(e, "Fill between slices (axial, active label)", self.interpolate_dialog, "Ctrl+I")
        self._action(e, "Flood fill closed region at cursor (axial)", self.flood_fill_at_cursor, "Ctrl+F")
        self._action(e, "Remove islands", self.remove_islands)
        self._action(e, "Remove tumour outside the liver", self.tumour_inside_liver)
        e.addSeparator()
        self._action(e, "Next lesion", lambda: self.lesion_panel.move(1), "N")
        self._action(e, "Previous lesion", lambda: self.lesion_panel.move(-1), "Shift+N")
        self._action(e, "Larger brush", lambda: self.tool_panel.grow(1.25), "]")
        self._action(e, "Smaller brush", lambda: self.tool_panel.grow(0.8), "[")

        s = self.menuBar().addMenu("&Segment")
        self.act_segment = self._action(s, "Segment liver and tumours", self.segment, "Ctrl+G")

        v = self.menuBar().addMenu("&View")
        for i, (name, (w, lev)) in enumerate(WINDOW_PRESETS.items(), start=1):
            self._action(v, name, lambda w=w, lev=lev: self.set_window(w, lev), f"F{i}")
        v.addSeparator()
        self._action(v, "Fit views (reset zoom)", self.fit_views, "Ctrl+0")
        tb = self.menuBar().addMenu("&Tools")
        for tool, key in (("navigate", "C"), ("paint", "P"), ("erase", "E"), ("threshold", "T"), ("sphere", "B"),
                          ("click", "K")):
            self._action(tb, f"{tool.capitalize()} tool", lambda t=tool: self.tool_panel.set_tool(t), key)
        h = self.menuBar().addMenu("&Help")
        self._action(h, "Keyboard shortcuts", lambda: show_shortcuts(self), "F12")
        self._action(h, "About LivSeg / self-test", self.about)

    def _fill_recent(self) -> None:
        self.recent_menu.clear()
        for p in self.recent():
            self._action(self.recent_menu, p, lambda p=p: self.open_path(p))

    def recent(self) -> list[str]:
        value = self.settings.value("recent", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember(self, path: str) -> None:
        items = [path] + [p for p in self.recent() if p != path]
        self.settings.setValue("recent", items[:MAX_RECENT])
        self._fill_recent()

    # -- opening ----------------------------------------------------------------------------
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
        self.worker = Worker(lambda w: load_volume(path, series))
        self._begin_work(f"Loading {Path(path).name}...")
        # Bound methods (not lambdas) so Qt queues the calls onto the GUI thread.
        self.worker.sigDone.connect(self._loaded)
        self.worker.sigFailed.connect(self._load_failed)
        self.worker.sigCancelled.connect(self._end_work)
        self.progress.setRange(0, 0)
        self.worker.start()

    @QtCore.Slot(str)
    def _load_failed(self, message: str) -> None:
        self._end_work()
        self.error("Cannot open", message)

    @QtCore.Slot(object)
    def _loaded(self, volume) -> None:
        path = self._loading_path
        self._end_work()
        self.session = Session(volume)
        self.session.labels.listeners.append(self._labels_changed)
        self.preview = None
        for v in self.views.values():
            v.set_volume(volume, self.session.labels.data)
            v.set_window(*self.window)
        self.cursor = np.array(volume.shape, float) // 2
        self._set_cursor(self.cursor)
        self._remember(path)
        from ..io.seg import seg_unavailable_reason

        self._seg_reason = seg_unavailable_reason(volume)
        self._job_warnings = list(volume.warnings)  # persistent: shown in the banner until the next scan
        self.banner.show_warnings(self._job_warnings)
        self.lesion_panel.show_analysis(None)
        self._offer_recovery()
        self._update_title()
        self._update_actions()
        self.sigLoaded.emit()

    def _offer_recovery(self) -> None:
        meta = self.session.volume.meta
        rec = self.recovery.find(meta.source_path, meta.series_uid)
        if rec is None or rec.labels.shape != self.session.volume.shape or not rec.labels.any():
            return
        answer = QtWidgets.QMessageBox.question(
            self, "Restore unsaved edits?",
            "LivSeg found edits to this scan that were not saved (the app closed unexpectedly). Restore them?",
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Yes:
            self.session.labels.replace_all("restore edits", rec.labels)
        else:
            self.saver.discard(meta.source_path, meta.series_uid)

    # -- segmentation -----------------------------------------------------------------------
    def segment(self) -> None:
        if self.session is None or self.worker is not None:
            return
        if self.session.has_labels and (self.session.edited_since_segmentation or self.session.segmented_version is None):
            answer = QtWidgets.QMessageBox.question(
                self, "Replace the labels?",
                "Segmenting again replaces the current labels, including your edits (you can undo it). Continue?",
            )
            if answer != QtWidgets.QMessageBox.StandardButton.Yes:
                return
        from ..segment import Cascade

        volume = self.session.volume

        def job(w: Worker):
            cascade = getattr(self, "_cascade", None) or Cascade()
            self._cascade = cascade  # sessions are created once and reused
            return cascade.run(volume, progress=w.progress, cancel=w.cancelled, on_slab=w.slab)

        self.preview = volume.new_labels()
        for v in self.views.values():
            v.set_labels(self.preview)
        self.worker = Worker(job)
        self._begin_work("Segmenting...")
        self.progress.setRange(0, 1000)
        self.cancel_button.setVisible(True)
        self.worker.sigProgress.connect(self._progress)
        self.worker.sigSlab.connect(self._slab)
        self.worker.sigDone.connect(self._segmented)
        self.worker.sigFailed.connect(self._segment_failed)
        self.worker.sigCancelled.connect(self._segment_cancelled)
        self.worker.start()

    @QtCore.Slot(str)
    def _segment_failed(self, message: str) -> None:
        self._segment_over()
        self.error("Segmentation failed", message)

    @QtCore.Slot()
    def _segment_cancelled(self) -> None:
        self._segment_over()
        self.status.showMessage("Segmentation cancelled", 5000)

    @QtCore.Slot(float, str)
    def _progress(self, fraction: float, stage: str) -> None:
        self.progress.setValue(int(fraction * 1000))
        self.progress.setFormat(f"{stage} %p%")

    @QtCore.Slot(int, int, object)
    def _slab(self, k0: int, k1: int, data) -> None:
        if self.preview is not None:
            self.preview[:, :, k0:k1] = data
            for v in self.views.values():
                v.refresh_labels()

    def _segment_over(self) -> None:
        self.preview = None
        self._end_work()
        if self.session:
            for v in self.views.values():
                v.set_labels(self.session.labels.data)

    @QtCore.Slot(object)
    def _segmented(self, result) -> None:
        self._segment_over()
        self.session.set_segmentation(result)
        t = result.timings
        self.status.showMessage(f"Segmented in {t['total_s']:.1f} s", 15000)
        self._job_warnings = list(self.session.volume.warnings) + list(result.warnings)
        self.update_lesions()
        self.sigSegmented.emit()

    def cancel_work(self) -> None:
        if self.worker is not None:
            self.worker.cancel()

    def _begin_work(self, message: str) -> None:
        self.status.showMessage(message)
        self.progress.setVisible(True)
        self.progress.setValue(0)
        self._update_actions()

    def _end_work(self) -> None:
        if self.worker is not None:
            self.worker.wait()
            self.worker = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.status.clearMessage()
        self._update_actions()

    # -- views ------------------------------------------------------------------------------
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

    # -- editing commands -------------------------------------------------------------------
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

    # -- lesions ----------------------------------------------------------------------------
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

    def jump_to_lesion(self, key: int | str) -> None:
        if isinstance(key, str):
            cand = dict(self.session.pending_candidates()).get(key)
            if cand is not None:
                self._set_cursor(cand.centroid_voxel)
            return
        les = next((x for x in self.session.analysis().lesions if x.number == key), None)
        if les is not None:
            self._set_cursor(les.centroid_voxel)

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

    # -- saving -----------------------------------------------------------------------------
    def _save_path(self, title: str, suffix: str, filt: str) -> str | None:
        meta = self.session.volume.meta
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
            save_labels_nifti(self.session.labels.data, self.session.volume, path)
        except LivSegError as exc:
            self.error("Could not save", str(exc))
            return False
        self.session.labels.mark_saved()
        meta = self.session.volume.meta
        self.saver.discard(meta.source_path, meta.series_uid)
        self.status.showMessage(f"Saved {path}", 8000)
        self._update_title()
        return True

    def save_mask_dialog(self) -> bool:
        if self.session is None:
            return False
        path = self._save_path("Save mask", ".nii.gz", "NIfTI (*.nii.gz *.nii)")
        return bool(path) and self.save_mask(path)

    def compare_with_prior_dialog(self) -> None:
        from .compare_dialog import ask_prior

        if self._can_edit() and self.session.has_labels:
            choice = ask_prior(self)
            if choice:
                self.compare_with_prior(*choice)

    def compare_with_prior(self, prior: str, prior_mask: str | None = None) -> None:
        """Load (and if needed segment) the prior in a worker, then show both studies side by side."""
        from ..workflow import compare_studies

        s = self.session
        current = (s.volume, s.labels.data.copy(), s.analysis())
        self.worker = Worker(lambda w: compare_studies(prior, current, prior_mask))
        self.worker.sigDone.connect(self._compared)
        self.worker.sigFailed.connect(self._compare_failed)
        self.worker.sigCancelled.connect(self._end_work)
        self._begin_work("Comparing with the prior study...")
        self.progress.setRange(0, 0)
        self.worker.start()

    @QtCore.Slot(str)
    def _compare_failed(self, message: str) -> None:
        self._end_work()
        self.error("Comparison failed", message)

    @QtCore.Slot(object)
    def _compared(self, out) -> None:
        from .compare_dialog import CompareDialog

        self._end_work()
        self.progress.setRange(0, 1000)
        result, cmp, prior, current = out
        self.compare_dialog = CompareDialog(result, cmp, prior, current, self)
        self.compare_dialog.show()
        self.sigCompared.emit()

    def export_seg_dialog(self) -> None:
        if self.session is None:
            return
        if self.session.volume.meta.source_format != "dicom":
            self.error("DICOM SEG", "A DICOM SEG must reference the DICOM images it segments. This CT was opened "
                                    "from NIfTI, so save the mask as NIfTI instead.")
            return
        path = self._save_path("Export DICOM SEG", "_seg.dcm", "DICOM (*.dcm)")
        if not path:
            return
        from ..io.seg import write_seg

        try:
            write_seg(self.session.labels.data, self.session.volume, path, edited=self.session.edited_since_segmentation)
            self.status.showMessage(f"Wrote {path}", 8000)
        except LivSegError as exc:
            self.error("Could not export SEG", str(exc))

    def export_report(self, pdf_path: str) -> None:
        from ..report import build_report, write_csv, write_json, write_pdf

        s = self.session
        analysis = s.analysis()
        model = {}
        try:
            from ..resources import models_dir
            from ..segment.modelcard import load_card

            model = load_card(models_dir()).report_entry()
        except LivSegError:
            pass
        report = build_report(analysis, s.volume, model=model, anonymise=self.anonymise, rejected=s.rejected,
                              candidates=s.pending_candidates())
        stem = str(Path(pdf_path).with_suffix(""))
        write_pdf(report, analysis, s.volume, s.labels.data, pdf_path)
        write_json(report, stem + ".json")
        write_csv(report, stem + ".csv")

    def export_report_dialog(self) -> None:
        if self.session is None:
            return
        path = self._save_path("Export report", "_report.pdf", "PDF (*.pdf)")
        if not path:
            return
        try:
            self.export_report(path)
            self.status.showMessage(f"Wrote {path} (+ .json, .csv)", 8000)
        except LivSegError as exc:
            self.error("Could not write the report", str(exc))

    def load_mask_dialog(self) -> None:
        if self.session is None:
            return
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Load mask", "", "Masks (*.nii *.nii.gz *.dcm);;All files (*)")
        if path:
            self.load_mask(path)

    def load_mask(self, path: str) -> None:
        try:
            if path.lower().endswith(".dcm"):
                from ..io.seg import read_seg

                labels, notes = read_seg(path, self.session.volume)
                for n in notes:
                    self.status.showMessage(n, 8000)
            else:
                from ..io.nifti import load_labels_nifti

                labels = load_labels_nifti(path, self.session.volume)
        except LivSegError as exc:
            self.error("Cannot load mask", str(exc))
            return
        self.session.labels.replace_all(f"load {Path(path).name}", labels)
        self.update_lesions()

    def autosave(self) -> None:
        if self.session is None or not self.session.labels.modified:
            return
        meta = self.session.volume.meta
        # Only a copy happens here; compression and the atomic write run in the saver's thread.
        self.saver.request(self.session.labels.data, meta.source_path, meta.series_uid, self.session.labels.version)

    # -- misc -------------------------------------------------------------------------------
    def error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        QtWidgets.QMessageBox.critical(self, title, message)

    def about(self) -> None:
        """Show the version and run the self-test in a worker (it segments the bundled sample)."""
        if self.worker is not None:
            return
        from ..selftest import selftest_report

        self.worker = Worker(lambda w: selftest_report())
        self.worker.sigDone.connect(self._about_done)
        self.worker.sigFailed.connect(self._about_done)
        self._begin_work("Running the self-test...")
        self.progress.setRange(0, 0)
        self.worker.start()

    @QtCore.Slot(object)
    def _about_done(self, text) -> None:
        self._end_work()
        QtWidgets.QMessageBox.information(self, "About LivSeg", f"LivSeg {__version__}\n\n{text}\n\n"
                                          "Research use only. Not for diagnosis.")

    def _update_title(self) -> None:
        name = ""
        if self.session:
            meta = self.session.volume.meta
            name = f" - {meta.series_description or Path(meta.source_path).name}"
        # Qt shows "[*]" as "*" while the window is modified.
        self.setWindowTitle(f"LivSeg {__version__}{name}[*]")
        self.setWindowModified(bool(self.session and self.session.labels.modified))

    def _update_actions(self) -> None:
        has = self.session is not None
        busy = self.worker is not None
        for a in (self.act_save_mask, self.act_seg, self.act_report, self.act_load_mask, self.act_compare):
            a.setEnabled(has and not busy)
        reason = self._seg_reason if has else "open a DICOM CT first"
        self.act_seg.setEnabled(has and not busy and reason is None)
        self.act_seg.setToolTip(f"Unavailable: {reason}" if reason else "Export the mask as DICOM SEG (liver, tumour)")
        self.segment_button.setEnabled(has and not busy)
        self.act_segment.setEnabled(has and not busy)
        lm = self.session.labels if has else None
        self.act_undo.setEnabled(bool(lm and lm.undo_stack) and not busy)
        self.act_redo.setEnabled(bool(lm and lm.redo_stack) and not busy)
        self.act_undo.setText(f"Undo {lm.undo_name()}" if lm and lm.undo_stack else "Undo")
        self.act_redo.setText(f"Redo {lm.redo_name()}" if lm and lm.redo_stack else "Redo")

    def _confirm_discard(self) -> bool:
        if self.session is None or not self.session.labels.modified:
            return True
        answer = QtWidgets.QMessageBox.question(
            self, "Unsaved edits", "The current mask has unsaved edits. Save them first?",
            QtWidgets.QMessageBox.StandardButton.Save | QtWidgets.QMessageBox.StandardButton.Discard
            | QtWidgets.QMessageBox.StandardButton.Cancel,
        )
        if answer == QtWidgets.QMessageBox.StandardButton.Save:
            return self.save_mask_dialog()
        if answer == QtWidgets.QMessageBox.StandardButton.Discard:
            meta = self.session.volume.meta
            self.saver.discard(meta.source_path, meta.series_uid)
            return True
        return False

    def closeEvent(self, ev) -> None:
        if not self._confirm_discard():
            ev.ignore()
            return
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(10000)
        self.saver.flush(10.0)
        ev.accept()

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

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        urls = ev.mimeData().urls()
        if urls:
            self.open_path(urls[0].toLocalFile())
