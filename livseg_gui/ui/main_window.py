"""The main window: the layout of views and panels, view linking, keys; the rest comes from mixins.

- ``files.FileActions``: opening, recovery, saving, exports, follow-up comparison;
- ``jobs.JobActions``: segmentation and other background jobs;
- ``editing.EditActions``: brushes, clicks, fill, undo, lesion review;
- ``viewing.ViewActions``: crosshair linking, window/level, zoom, keys;
- ``menus.Menus``: the menus and the actions' shortcuts.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from .. import __version__
from ..edit.autosave import BackgroundSaver, RecoveryStore
from ..edit.document import Document
from ..planes import Plane
from ..segment.models import Models
from ..viewstate import WINDOW_PRESETS, ViewState
from .banner import Banner
from .editing import EditActions
from .files import FileActions
from .jobs import JobActions
from .menus import Menus
from .panels import LesionPanel, OverlayPanel, ToolPanel
from .slice_view import SliceView
from .viewing import ViewActions
from .workers import Worker, collect_garbage_in_gui_thread

log = logging.getLogger("livseg.ui")

class MainWindow(FileActions, JobActions, EditActions, ViewActions, Menus, QtWidgets.QMainWindow):
    sigLoaded = QtCore.Signal()
    sigSegmented = QtCore.Signal()
    sigCompared = QtCore.Signal()
    sigClicked = QtCore.Signal()  # a click-tool edit was applied (or found nothing)
    sigAutosaveFailed = QtCore.Signal(str)  # emitted from the autosave thread, shown on the GUI thread

    # Worker signals arrive at these methods of the window itself, so Qt queues each call onto the GUI
    # thread; the work they do lives in the mixins.
    @QtCore.Slot(object)
    def _loaded(self, volume) -> None:
        FileActions._loaded(self, volume)

    @QtCore.Slot(str)
    def _load_failed(self, message: str) -> None:
        FileActions._load_failed(self, message)

    @QtCore.Slot(object)
    def _compared(self, out) -> None:
        FileActions._compared(self, out)

    @QtCore.Slot(str)
    def _compare_failed(self, message: str) -> None:
        FileActions._compare_failed(self, message)

    @QtCore.Slot(object)
    def _segmented(self, result) -> None:
        JobActions._segmented(self, result)

    @QtCore.Slot(str)
    def _segment_failed(self, message: str) -> None:
        JobActions._segment_failed(self, message)

    @QtCore.Slot()
    def _segment_cancelled(self) -> None:
        JobActions._segment_cancelled(self)

    @QtCore.Slot(float, str)
    def _progress(self, fraction: float, stage: str) -> None:
        JobActions._progress(self, fraction, stage)

    @QtCore.Slot(int, int, object)
    def _slab(self, k0: int, k1: int, data) -> None:
        JobActions._slab(self, k0, k1, data)

    @QtCore.Slot(object)
    def _about_done(self, text) -> None:
        JobActions._about_done(self, text)

    @QtCore.Slot()
    def _end_work(self) -> None:
        JobActions._end_work(self)

    @QtCore.Slot(object)
    def _click_planned(self, edit) -> None:
        EditActions._click_planned(self, edit)

    @QtCore.Slot(str)
    def _click_failed(self, message: str) -> None:
        EditActions._click_failed(self, message)

    def __init__(self, recovery: RecoveryStore | None = None):
        super().__init__()
        collect_garbage_in_gui_thread()  # before the autosave thread and any worker start
        self.document: Document | None = None
        self.worker: Worker | None = None
        self.smoothing_ahead = None  # (future, stop event) of EditActions.smooth_liver_ahead
        self.preview: np.ndarray | None = None
        self.recovery = recovery or RecoveryStore()
        self.saver = BackgroundSaver(self.recovery, on_error=self.sigAutosaveFailed.emit)
        self.sigAutosaveFailed.connect(lambda msg: self.status.showMessage(f"Autosave failed: {msg}", 8000))
        self.settings = QtCore.QSettings("LivSeg", "LivSeg")
        self.anonymise = False
        self.models = Models()  # the nets, loaded on first use (from a worker for segmentation)
        self.view_state = ViewState()  # Qt-free: cursor, window/level, overlay, tool; the views follow its events
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
        self.segment_button.clicked.connect(self.segment)
        self.progress = QtWidgets.QProgressBar()
        self.progress.setFormat("Ready")  # always shown (no layout jump when a job starts)
        self.progress.setValue(0)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop the running job; the labels stay as they were before it")
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
        self.measure_timer = QtCore.QTimer(self, singleShot=True, interval=250, timeout=self.update_lesions)
        self.autosave_timer = QtCore.QTimer(self, singleShot=True, interval=300, timeout=self.autosave)
        self.smoothing_timer = QtCore.QTimer(self, singleShot=True, interval=500, timeout=self.smooth_liver_ahead)
        self._build_menus()
        self._connect_view_state()
        self._tool_changed()  # the panels' starting values into the view state
        self._overlay_changed()
        self._show_window(self.view_state.window)
        self._update_title()
        self._update_actions()

    def _fit_to_screen(self) -> None:
        screen = QtGui.QGuiApplication.primaryScreen()
        avail = screen.availableGeometry() if screen else QtCore.QRect(0, 0, 1280, 720)
        self.resize(max(self.minimumWidth(), min(1600, int(avail.width() * 0.92))),
                    max(self.minimumHeight(), min(1000, int(avail.height() * 0.9))))

    def error(self, title: str, message: str) -> None:
        log.warning("%s: %s", title, message)
        QtWidgets.QMessageBox.critical(self, title, message)

    def _update_title(self) -> None:
        name = ""
        if self.document:
            meta = self.document.volume.meta
            name = f" - {meta.series_description or Path(meta.source_path).name}"
        # Qt shows "[*]" as "*" while the window is modified.
        self.setWindowTitle(f"LivSeg {__version__}{name}[*]")
        self.setWindowModified(bool(self.document and self.document.labels.modified))

    def closeEvent(self, ev) -> None:
        if not self._confirm_discard():
            ev.ignore()
            return
        if self.worker is not None:
            self.worker.cancel()
            self.worker.wait(10000)
        self.smoothing_timer.stop()
        self.stop_smoothing_ahead()
        self.saver.flush(10.0)
        ev.accept()

    def dragEnterEvent(self, ev) -> None:
        if ev.mimeData().hasUrls():
            ev.acceptProposedAction()

    def dropEvent(self, ev) -> None:
        urls = ev.mimeData().urls()
        if urls:
            self.open_path(urls[0].toLocalFile())
