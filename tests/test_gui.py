"""The Qt shell driven like a user would (pytest-qt, offscreen)."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from PySide6 import QtCore, QtWidgets

from livseg_gui.planes import Plane, from_voxel, plane_spacing
from livseg_gui.ui.main_window import MainWindow

from .conftest import DCMQI, SAMPLE, have_models, needs_models


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    from livseg_gui.edit.autosave import RecoveryStore

    # pytest-qt closes widgets before fixtures finalise: answer any leftover prompt with "Discard".
    monkeypatch.setattr(QtWidgets.QMessageBox, "question",
                        lambda *a, **k: QtWidgets.QMessageBox.StandardButton.Discard)

    win = MainWindow(recovery=RecoveryStore(tmp_path / "recovery"))
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win


def test_garbage_is_collected_in_the_gui_thread_only(window, qtbot):
    """With a window open, Python's automatic cycle collection is off and the GUI thread collects on a timer: a
    collection in a background thread would destroy Qt objects there (a segfault in CI while a worker loaded DICOM)."""
    import gc
    import threading

    assert not gc.isenabled()
    freed_in = []

    class Cycle:
        def __init__(self):
            self.me = self

        def __del__(self):
            freed_in.append(threading.current_thread())

    Cycle()
    churn = threading.Thread(target=lambda: [[] for _ in range(50 * gc.get_threshold()[0])])  # would collect there
    churn.start()
    churn.join()
    assert not freed_in
    qtbot.waitUntil(lambda: bool(freed_in), timeout=5000)
    assert freed_in == [threading.main_thread()]


def _open_sample(qtbot, win):
    with qtbot.waitSignal(win.sigLoaded, timeout=60_000):
        win.open_path(str(SAMPLE))
    qtbot.wait(50)  # the start banner hides on load: let the views take their final size
    return win.document.volume


def _viewport_pos(view, voxel):
    """Widget position in the view's viewport of canonical voxel ``voxel`` (on the current slice)."""
    _, row, col = from_voxel(view.plane, voxel, view.volume.shape)
    row_mm, col_mm = plane_spacing(view.volume.spacing, view.plane)
    scene = view.vb.mapViewToScene(QtCore.QPointF((col + 0.5) * col_mm, (row + 0.5) * row_mm))
    return view.graphics.mapFromScene(scene)


def test_open_scroll_window_level_and_cursor_hu(qtbot, window):
    vol = _open_sample(qtbot, window)
    axial = window.views[Plane.AXIAL]
    assert axial.index == vol.shape[2] // 2
    assert "Body" in window.windowTitle()
    # Page Up / arrow keys / wheel move the axial slice.
    start = axial.index
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Up)
    assert axial.index == start + 1
    qtbot.keyClick(window, QtCore.Qt.Key.Key_PageDown)
    assert axial.index == max(0, start + 1 - 10)
    axial.slider.setValue(3)
    assert axial.index == 3
    # Window/level: preset, then a right-drag adjustment.
    window.window_box.setCurrentText("Liver (W150 L30)")
    assert axial.window == (150.0, 30.0)
    window._window_drag(20.0, -10.0)
    assert window.view_state.window == (190.0, 50.0)
    # Hovering shows the HU under the cursor.
    voxel = np.array([300, 240, axial.index])
    qtbot.mouseMove(axial.graphics.viewport(), _viewport_pos(axial, voxel))
    qtbot.waitUntil(lambda: "HU" in window.hu_label.text())
    expected = int(vol.array[tuple(voxel)])
    assert f"HU {expected}" in window.hu_label.text()
    assert "voxel 300, 240" in window.hu_label.text()


def test_click_moves_the_crosshair_in_the_other_views(qtbot, window):
    _open_sample(qtbot, window)
    axial = window.views[Plane.AXIAL]
    qtbot.mouseClick(axial.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton,
                     pos=_viewport_pos(axial, np.array([200, 150, axial.index])))
    assert window.views[Plane.CORONAL].index == pytest.approx(150, abs=1)
    assert window.views[Plane.SAGITTAL].index == pytest.approx(200, abs=1)


def test_aspect_ratio_follows_spacing(qtbot, window):
    vol = _open_sample(qtbot, window)
    cor = window.views[Plane.CORONAL]
    rect = cor.ct_item.mapRectToParent(cor.ct_item.boundingRect())
    assert rect.height() == pytest.approx(vol.shape[2] * vol.spacing[2], rel=1e-6)
    assert rect.width() == pytest.approx(vol.shape[0] * vol.spacing[0], rel=1e-6)


def test_paint_with_the_mouse_then_undo(qtbot, window):
    vol = _open_sample(qtbot, window)
    window.tool_panel.set_tool("paint")
    window.tool_panel.radius.setValue(5.0)
    axial = window.views[Plane.AXIAL]
    voxel = np.array([256, 256, axial.index])
    qtbot.mouseClick(axial.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=_viewport_pos(axial, voxel))
    painted = int((window.document.labels.data == 2).sum())
    expected = np.pi * 25 / (vol.spacing[0] * vol.spacing[1])
    assert painted == pytest.approx(expected, rel=0.1)
    assert window.document.labels.data[tuple(voxel)] == 2
    assert window.isWindowModified()
    assert window.act_undo.text() == "Undo paint tumour (brush)"
    # The overlay of the axial view shows it.
    assert axial.label_item.image is not None and (axial.label_item.image == 2).any()
    window.act_undo.trigger()
    assert not window.document.labels.data.any()
    window.act_redo.trigger()
    assert int((window.document.labels.data == 2).sum()) == painted


def test_bad_input_shows_a_dialog_and_the_app_stays_alive(qtbot, window, tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(QtWidgets.QMessageBox, "critical", lambda *a, **k: shown.append(a[2]))
    bad = tmp_path / "bad.nii.gz"
    bad.write_bytes(b"nope")
    window.open_path(str(bad))
    qtbot.waitUntil(lambda: bool(shown) and window.worker is None, timeout=20_000)
    assert "not a readable NIfTI" in shown[0]
    _open_sample(qtbot, window)  # and it still works
    assert window.document is not None


def test_closing_with_unsaved_edits_asks(qtbot, window, monkeypatch):
    from livseg_gui.edit import tools

    _open_sample(qtbot, window)
    tools.brush(window.document.labels, (100, 100, 5), 4, window.document.volume.spacing, 1)
    asked = []

    def answer(*a, **k):
        asked.append(a[1])
        return QtWidgets.QMessageBox.StandardButton.Cancel

    monkeypatch.setattr(QtWidgets.QMessageBox, "question", answer)
    window.close()
    assert asked and window.isVisible()


def _autosaved_edit(qtbot, window) -> np.ndarray:
    """Open the sample, paint, autosave and mark saved (as if the app then died); the labels painted."""
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    tools.brush(window.document.labels, (120, 120, 5), 6, vol.spacing, 2)
    window.autosave()
    assert window.saver.flush(10)
    window.document.labels.mark_saved()
    return window.document.labels.data.copy()


def _reopen_answering(qtbot, window, monkeypatch, answer) -> MainWindow:
    """A fresh window on the same series, answering the recovery prompt with ``answer``."""
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: answer)
    win2 = MainWindow(recovery=window.recovery)
    qtbot.addWidget(win2)
    with qtbot.waitSignal(win2.sigLoaded, timeout=60_000):
        win2.open_path(str(SAMPLE))
    return win2


def test_autosave_and_restore_offer(qtbot, window, monkeypatch):
    snapshot = _autosaved_edit(qtbot, window)
    # A fresh window on the same series offers to restore; answer yes.
    win2 = _reopen_answering(qtbot, window, monkeypatch, QtWidgets.QMessageBox.StandardButton.Yes)
    np.testing.assert_array_equal(win2.document.labels.data, snapshot)
    win2.document.labels.mark_saved()


def test_ten_quick_strokes_all_land_while_autosave_runs(qtbot, window):
    """Strokes 100 ms apart, each followed by an autosave: none is lost, and the last one is on disk."""
    vol = _open_sample(qtbot, window)
    axial = window.views[Plane.AXIAL]
    window.tool_panel.set_tool("paint")
    window.tool_panel.radius.setValue(3.0)
    vp = axial.graphics.viewport()
    k = axial.index
    centres = [np.array([60 + 40 * (i % 5), 120 + 120 * (i // 5), k]) for i in range(10)]
    for c in centres:
        pos = _viewport_pos(axial, c)
        qtbot.mousePress(vp, QtCore.Qt.MouseButton.LeftButton, pos=pos)
        qtbot.mouseRelease(vp, QtCore.Qt.MouseButton.LeftButton, pos=pos)
        window.autosave()  # what the debounce timer does, forced after every stroke
        qtbot.wait(100)
    labels = window.document.labels.data
    assert all(labels[tuple(c)] > 0 for c in centres), "every stroke must land"
    assert window.saver.flush(10)
    rec = window.recovery.find(vol.meta.source_path, vol.meta.series_uid)
    np.testing.assert_array_equal(rec.labels, labels)
    assert rec.version == window.document.labels.version


@needs_models
def test_segment_in_a_worker_shows_overlays_and_lesions(qtbot, window, monkeypatch):
    _open_sample(qtbot, window)
    progress = []
    window.progress.valueChanged.connect(progress.append)
    with qtbot.waitSignal(window.sigSegmented, timeout=300_000):
        window.segment()
        assert window.worker is not None and not window.segment_button.isEnabled()
        window.views[Plane.AXIAL].step(1)  # the UI stays usable while the worker runs
    labels = window.document.labels.data
    assert (labels >= 1).sum() > 10_000
    assert max(progress) == 1000
    # The liver, and the soft tissue around it, are smoothed for lesion clicks in the background meanwhile, all of it.
    from livseg_gui.edit.clicks import liver_smoothing_of, soft_tissue_smoothing_of

    qtbot.waitUntil(lambda: window.smoothing_ahead is not None, timeout=5_000)
    window.smoothing_ahead[0].result(timeout=120)
    vol = window.document.volume
    for kept in (liver_smoothing_of(vol.array, vol.spacing), soft_tissue_smoothing_of(vol.array, vol.spacing)):
        assert kept.kept()[labels[:: kept.k, :: kept.k] >= 1].all()
    assert window.act_undo.text() == "Undo segment"
    # Re-running after an edit asks first; "No" keeps the edit.
    from livseg_gui.edit import tools

    tools.brush(window.document.labels, (50, 50, 3), 3, window.document.volume.spacing, 1)
    before = window.document.labels.data.copy()
    monkeypatch.setattr(QtWidgets.QMessageBox, "question", lambda *a, **k: QtWidgets.QMessageBox.StandardButton.No)
    window.segment()
    assert window.worker is None
    np.testing.assert_array_equal(window.document.labels.data, before)


def test_lesion_panel_lists_jumps_and_rejects(qtbot, window):
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    lm = window.document.labels
    tools.brush(lm, (200, 200, 10), 30, vol.spacing, 1, plane=None)
    tools.brush(lm, (200, 200, 10), 8, vol.spacing, 2, plane=None)
    tools.brush(lm, (215, 215, 12), 3, vol.spacing, 2, plane=None)
    window.update_lesions()
    table = window.lesion_panel.table
    assert table.rowCount() == 2
    table.selectRow(0)
    assert window.views[Plane.AXIAL].index == pytest.approx(10, abs=1)
    selected = window.views[Plane.AXIAL].selected  # the selected lesion is outlined in the views
    assert selected is not None and selected[200, 200, 10] and not selected[215, 215, 12]
    numbers = [les.number for les in window.document.analysis().lesions]
    window.lesion_panel._status("rejected")
    qtbot.waitUntil(lambda: table.rowCount() == 1)
    # The remaining lesion keeps its number (it is not renumbered to 1).
    assert [les.number for les in window.document.analysis().lesions] == numbers[1:]
    assert window.document.rejected and window.document.rejected[0]["status"] == "rejected"
    window.act_undo.trigger()
    window.update_lesions()
    assert table.rowCount() == 2
    # Undoing the reject undoes its review status too: the lesion is not also reported as rejected.
    assert window.document.rejected == []
    assert all(les.status == "unreviewed" for les in window.document.analysis().lesions)
    window.act_redo.trigger()
    assert len(window.document.rejected) == 1


def _hold_a_job(window):
    """A real worker that runs until released: stands in for a long segmentation."""
    import threading

    from livseg_gui.errors import Cancelled
    from livseg_gui.ui.workers import Worker

    release = threading.Event()

    def job(_worker):
        release.wait(30)
        raise Cancelled("released")

    window.worker = Worker(job)
    window.worker.sigCancelled.connect(window._end_work)  # a bound method: queued onto the GUI thread
    window._begin_work("Busy...")
    window.worker.start()
    return release


@needs_models
def test_open_during_a_job_is_refused_and_never_mixed(qtbot, window, tmp_path):
    vol = _open_sample(qtbot, window)
    document = window.document
    with qtbot.waitSignal(window.sigSegmented, timeout=300_000):
        window.segment()
        window.open_path(str(DCMQI))  # a different scan, while the segmentation runs
        assert "job is running" in window.status.currentMessage()
    assert window.document is document and window.document.volume.shape == vol.shape
    assert (window.document.labels.data >= 1).sum() > 10_000


def test_edits_are_blocked_while_a_job_runs(qtbot, window, monkeypatch):
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    tools.brush(window.document.labels, (200, 200, 10), 20, vol.spacing, 1, plane=None)
    before = window.document.labels.data.copy()
    release = _hold_a_job(window)
    try:
        window.remove_islands()
        window.tumour_inside_liver()
        window.flood_fill_at_cursor()
        monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("3,9", True))
        window.interpolate_dialog()
        assert "Busy" in window.status.currentMessage()
        np.testing.assert_array_equal(window.document.labels.data, before)
        assert not window.act_undo.isEnabled() and not window.segment_button.isEnabled()
        for action in (window.act_open, window.act_save_mask, window.act_interpolate, window.act_segment):
            assert not action.isEnabled() and "unavailable: busy" in action.toolTip()
        assert "busy" in window.segment_button.toolTip()
    finally:
        release.set()
        qtbot.waitUntil(lambda: window.worker is None, timeout=10_000)
    assert window.act_open.isEnabled() and window.act_interpolate.isEnabled() and "Ctrl+I" in window.act_interpolate.toolTip()


def test_fill_between_slices_checks_its_bounds(qtbot, window, monkeypatch):
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    lm = window.document.labels
    tools.brush(lm, (200, 200, 9), 20, vol.spacing, 1)
    errors = []
    monkeypatch.setattr(window, "error", lambda title, msg: errors.append(msg))
    for text in ("0,5", f"3,{vol.shape[2] + 1}", "4,5"):  # slice 0 would wrap to the last slice
        monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, t=text, **k: (t, True))
        before = lm.data.copy()
        window.interpolate_dialog()
        np.testing.assert_array_equal(lm.data, before)
    assert len(errors) == 3 and "between 1 and 20" in errors[0]
    with pytest.raises(ValueError, match="must lie in"):
        tools.interpolate_slices(lm, Plane.AXIAL, -1, 9, 1, vol.spacing)
    monkeypatch.setattr(QtWidgets.QInputDialog, "getText", lambda *a, **k: ("10,16", True))
    tools.brush(lm, (200, 200, 15), 20, vol.spacing, 1)
    window.tool_panel.label_box.setCurrentIndex(0)  # liver
    window.interpolate_dialog()
    assert lm.undo_name() == "interpolate liver" and lm.data[200, 200, 12] == 1


def test_process_exits_0_after_showing_views_with_onnxruntime_loaded(tmp_path):
    """The pyqtgraph + onnxruntime shutdown crash must stay fixed."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "LIVSEG_QUIT_AFTER_MS": "2500",
           "LIVSEG_DATA_DIR": str(tmp_path)}
    code = "import onnxruntime; from livseg_gui.cli import main; raise SystemExit(main(['demo']))"
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]


def test_have_models_flag_is_consistent():
    assert isinstance(have_models(), bool)


def test_overlay_lookup_table_and_outline():
    from livseg_gui.ui.overlay import OUTLINE, outline_labels, overlay_lut

    lab = np.zeros((10, 10), np.uint8)
    lab[2:8, 2:8] = 1
    lab[4:6, 4:6] = 2
    out = outline_labels(lab)
    assert out[2, 2] == 1 + OUTLINE and out[5, 5] == 2 + OUTLINE and out[3, 3] == 1 and out[0, 0] == 0
    lut = overlay_lut(0.5, {1: True, 2: False}, outline=True)
    assert lut[1, 3] == 0 and lut[1 + OUTLINE, 3] == 255 and lut[2 + OUTLINE, 3] == 0
    assert overlay_lut(0.5, {1: True, 2: True})[2, 3] == 127


def test_drag_paints_one_undoable_stroke(qtbot, window):
    _open_sample(qtbot, window)
    window.tool_panel.set_tool("paint")
    window.tool_panel.radius.setValue(3.0)
    axial = window.views[Plane.AXIAL]
    vp = axial.graphics.viewport()
    k = axial.index
    points = [_viewport_pos(axial, np.array([200 + 8 * i, 250, k])) for i in range(8)]
    qtbot.mousePress(vp, QtCore.Qt.MouseButton.LeftButton, pos=points[0])
    for p in points[1:]:
        qtbot.mouseMove(vp, p)
    qtbot.mouseRelease(vp, QtCore.Qt.MouseButton.LeftButton, pos=points[-1])
    data = window.document.labels.data
    assert data[200, 250, k] == 2 or data[208, 250, k] == 2
    assert data[256, 250, k] == 2  # the stroke reached the far end
    assert len(window.document.labels.undo_stack) == 1
    window.act_undo.trigger()
    assert not window.document.labels.data.any()


def test_viewer_conventions_banner_wl_coordinates_and_seg_availability(qtbot, window):
    """Start hint, live W/L, R/L coordinates, SEG disabled with its reason, keys on the view under the mouse."""
    assert window.banner.isVisible() and "Open a CT" in window.banner.text()
    assert window.minimumWidth() <= 1024 and window.minimumHeight() <= 640
    vol = _open_sample(qtbot, window)
    window._window_drag(20.0, -10.0)
    assert window.wl_label.text() == "Custom W440 L60"
    window.set_window(150.0, 30.0)
    assert window.wl_label.text() == "Liver (W150 L30)" and window.window_box.currentText() == "Liver (W150 L30)"
    # The sample's UIDs were stripped: SEG export is disabled and says why.
    assert not window.act_seg.isEnabled() and "lacks" in window.act_seg.toolTip()
    axial = window.views[Plane.AXIAL]
    voxel = np.array([100, 240, axial.index])
    qtbot.mouseMove(axial.graphics.viewport(), _viewport_pos(axial, voxel))
    qtbot.waitUntil(lambda: "HU" in window.hu_label.text())
    lps = vol.voxel_to_lps(voxel)
    assert f"{'R' if lps[0] < 0 else 'L'} {abs(lps[0]):.1f}" in window.hu_label.text() and "-" not in window.hu_label.text().split("|")[1]
    # Double-click maximises a view; again restores all three.
    window.toggle_maximised(Plane.CORONAL)
    assert window.views[Plane.AXIAL].isHidden() and not window.views[Plane.CORONAL].isHidden()
    window.toggle_maximised(Plane.CORONAL)
    assert not window.views[Plane.AXIAL].isHidden() and not window.views[Plane.SAGITTAL].isHidden()


def test_keyboard_shortcuts_dialog_lists_the_actions(qtbot, window):
    from livseg_gui.ui.shortcuts import show_shortcuts

    show_shortcuts(window)
    dlg = window.findChild(QtWidgets.QDialog, "shortcuts_dialog")
    table = dlg.findChild(QtWidgets.QTableWidget)
    actions = {table.item(r, 1).text() for r in range(table.rowCount())}
    assert {"Segment liver and tumours", "Paint tool", "Keyboard shortcuts", "Fit views (reset zoom)"} <= actions
    dlg.close()


def test_one_click_segments_a_lesion_in_the_gui_and_undoes_as_one_step(qtbot, window, tmp_path):
    from livseg_gui.measure.metrics import Overlap

    from .factory import write_nifti
    from .test_clicks import SP, _liver_with_lesion, _voxel

    hu, labels, lesion = _liver_with_lesion(-35.0)
    path = write_nifti(tmp_path / "phantom.nii.gz", hu.astype(np.int16), np.diag([-SP[0], -SP[1], SP[2], 1.0]))
    with qtbot.waitSignal(window.sigLoaded, timeout=60_000):
        window.open_path(str(path))
    qtbot.wait(50)
    vol = window.document.volume
    window.document.labels.replace_all("load liver", vol.labels_from_source(labels))
    truth = vol.labels_from_source(lesion.astype(np.uint8)) > 0
    window.tool_panel.set_tool("click")
    window.tool_panel.label_box.setCurrentIndex(1)  # tumour
    axial = window.views[Plane.AXIAL]
    centre = vol.canonical_from_source(np.round(_voxel((60, 70, 50))).astype(int))
    axial.set_index(int(centre[2]))
    with qtbot.waitSignal(window.sigClicked, timeout=30_000):  # planned in a worker, applied on the GUI thread
        qtbot.mouseClick(axial.graphics.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=_viewport_pos(axial, centre))
    assert window.document.labels.undo_name() == "click lesion +"
    assert Overlap.of(window.document.labels.data == 2, truth).dice >= 0.85
    qtbot.waitUntil(lambda: window.lesion_panel.table.rowCount() == 1)  # the panel updates live
    window.act_undo.trigger()
    assert not (window.document.labels.data == 2).any()
    window.document.labels.mark_saved()


def test_compare_with_prior_shows_both_studies_with_matched_numbers(qtbot, window, tmp_path):
    from .factory import write_nifti
    from .test_followup import A, B, D, _study

    prior = _study(lesions=[(A, 15.0), (B, 10.0)])
    current = _study(shift_mm=(20.0, 0.0, 10.0), lesions=[(A, 9.0), (D, 8.0)])
    paths = {}
    for name, (vol, labels, _) in (("prior", prior), ("current", current)):
        paths[name] = write_nifti(tmp_path / f"{name}.nii.gz", vol.to_source(vol.array), vol.source.affine)
        paths[name + "_labels"] = write_nifti(tmp_path / f"{name}-l.nii.gz", vol.to_source(labels), vol.source.affine)
    with qtbot.waitSignal(window.sigLoaded, timeout=60_000):
        window.open_path(str(paths["current"]))
    window.document.labels.replace_all("load", current[1])
    with qtbot.waitSignal(window.sigCompared, timeout=60_000):
        window.compare_with_prior(str(paths["prior"]), str(paths["prior_labels"]))
    dlg = window.compare_dialog
    table = dlg.findChild(QtWidgets.QTableWidget, "compare_table")
    statuses = sorted(table.item(r, 2).text() for r in range(table.rowCount()))
    assert statuses == ["matched", "new", "resolved"]
    # Scrolling the current study moves the prior to the same anatomy (the livers' S shift, 10 mm = 4 slices).
    dlg.views[1].set_index(40)
    assert dlg.views[0].index == 36
    dlg.close()
    window.document.labels.mark_saved()


@needs_models
def test_cancel_stops_the_segmentation_and_keeps_the_labels(qtbot, window):
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    tools.brush(window.document.labels, (200, 200, 10), 8, vol.spacing, 1, plane=None)
    before = window.document.labels.data.copy()
    window.document.segmented_version = window.document.labels.version  # no "replace your edits?" prompt
    window.segment()
    assert window.cancel_button.isVisible()
    window.cancel_work()
    qtbot.waitUntil(lambda: window.worker is None, timeout=60_000)
    assert "cancelled" in window.status.currentMessage()
    np.testing.assert_array_equal(window.document.labels.data, before)
    assert all(v.labels is window.document.labels.data for v in window.views.values())  # the preview is gone
    assert not window.cancel_button.isVisible() and window.act_segment.isEnabled()
    window.document.labels.mark_saved()


def test_save_export_and_load_mask_round_trip(qtbot, window, tmp_path, monkeypatch):
    from livseg_gui.edit import tools

    vol = _open_sample(qtbot, window)
    tools.brush(window.document.labels, (200, 220, 10), 15, vol.spacing, 1, plane=None)
    tools.brush(window.document.labels, (200, 220, 10), 5, vol.spacing, 2, plane=None)
    painted = window.document.labels.data.copy()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "mask.nii.gz"), ""))
    assert window.save_mask_dialog()
    assert not window.document.labels.modified and "Saved" in window.status.currentMessage()
    monkeypatch.setattr(QtWidgets.QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "r.pdf"), ""))
    window.export_report_dialog()
    assert (tmp_path / "r.pdf").stat().st_size > 1000
    report = __import__("json").loads((tmp_path / "r.json").read_text())
    assert report["lesion_count"] == 1 and report["tumour_volume_ml"] > 0
    window.document.labels.replace_all("clear", np.zeros_like(painted))
    monkeypatch.setattr(QtWidgets.QFileDialog, "getOpenFileName", lambda *a, **k: (str(tmp_path / "mask.nii.gz"), ""))
    window.load_mask_dialog()
    np.testing.assert_array_equal(window.document.labels.data, painted)
    assert window.document.labels.undo_name() == "load mask.nii.gz"
    assert window.settings.value("last_dir") == str(tmp_path)  # the next dialog opens here
    window.document.labels.mark_saved()


def test_declining_recovery_discards_the_autosave(qtbot, window, monkeypatch):
    _autosaved_edit(qtbot, window)
    vol = window.document.volume
    win2 = _reopen_answering(qtbot, window, monkeypatch, QtWidgets.QMessageBox.StandardButton.No)
    assert not win2.document.labels.data.any()  # "No" starts from the scan alone ...
    assert window.recovery.find(vol.meta.source_path, vol.meta.series_uid) is None  # ... and forgets the edits
