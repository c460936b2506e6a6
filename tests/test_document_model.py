"""The Qt-free application model: the document's and the view state's events, and the action rules."""

from __future__ import annotations

import numpy as np
import pytest

from livseg_gui.edit import tools
from livseg_gui.edit.document import Document
from livseg_gui.events import Event
from livseg_gui.io.volume import Metadata, make_volume
from livseg_gui.segment.cascade import SegmentationResult
from livseg_gui.ui.actions import ACTIONS, AppState, spec
from livseg_gui.viewstate import Tool, ViewState


def _volume(shape=(40, 40, 12)):
    return make_volume(np.zeros(shape, np.int16), np.diag([-1.0, -1.0, 2.0, 1.0]), Metadata())


def _recorder(event: Event) -> list:
    seen: list = []
    event.connect(lambda *args: seen.append(args))
    return seen


def test_an_event_calls_its_callbacks_in_order_and_once_each():
    e, calls = Event("x"), []
    first = e.connect(lambda v: calls.append(("a", v)))
    e.connect(first)  # connecting twice does not call twice
    e.connect(lambda v: calls.append(("b", v)))
    e.emit(1)
    e.disconnect(first)
    e.emit(2)
    assert calls == [("a", 1), ("b", 1), ("b", 2)]


def test_view_state_emits_once_per_real_change():
    vs = ViewState()
    windows, tool_changes, cursors = _recorder(vs.events.window), _recorder(vs.events.tool), _recorder(vs.events.cursor)
    vs.set_window(400, 40)  # the starting preset: nothing changes
    vs.set_window(350, 60)
    assert windows == [((350.0, 60.0),)] and vs.window_text() == "Custom W350 L60" and vs.window_preset is None
    vs.set_window(150, 30)
    assert vs.window_text() == "Liver (W150 L30)"
    vs.set_window(-5, 0)  # a drag past zero width keeps a 1 HU window
    assert vs.window == (1.0, 0.0)
    vs.set_tools(tool="paint", radius_mm=3.0)
    vs.set_tools(tool=Tool.PAINT)
    assert len(tool_changes) == 1 and vs.tools.tool is Tool.PAINT and vs.tools.tool.paints
    assert not Tool.CLICK.paints and Tool.CLICK.key == "K"
    with pytest.raises(TypeError):
        vs.set_tools(colour="red")
    with pytest.raises(ValueError):
        vs.set_tools(tool="lasso")
    vs.set_cursor((1, 2, 3))
    vs.move_cursor(2, 7)
    assert [tuple(c[0]) for c in cursors] == [(1, 2, 3), (1, 2, 7)]


def test_document_announces_edits_undo_segmentation_and_review():
    vol = _volume()
    doc = Document(vol)
    boxes, segs, reviews, warns = (_recorder(e) for e in (doc.events.labels, doc.events.segmentation,
                                                          doc.events.review, doc.events.warnings))
    tools.brush(doc.labels, (20, 20, 6), 4, vol.spacing, 1, plane=None)
    assert len(boxes) == 1 and boxes[0][0][2].start <= 6 < boxes[0][0][2].stop
    doc.labels.undo()
    assert len(boxes) == 2 and not doc.has_labels

    labels = np.zeros(vol.shape, np.uint8)
    labels[5:35, 5:35, 1:11] = 1
    labels[10:16, 10:16, 4:8] = 2
    doc.set_segmentation(SegmentationResult(labels=labels, warnings=["the liver found is only 90 mL"]))
    assert len(segs) == 1 and len(warns) == 1
    assert "the liver found is only 90 mL" in warns[0][0] and warns[0][0] == doc.warnings()
    les = doc.analysis().lesions[0]
    doc.set_status(les.number, "accepted")
    doc.set_status(les.number, "rejected")
    assert len(reviews) == 2 and not (doc.labels.data == 2).any()
    assert [r["status"] for r in doc.rejected] == ["rejected"]
    doc.labels.undo()  # the rejection's review status goes with its voxels
    assert doc.rejected == [] and (doc.labels.data == 2).any()


def test_document_knows_why_a_nifti_scan_has_no_dicom_seg():
    assert Document(_volume()).seg_unavailable  # a NIfTI source has no DICOM UIDs to reference


def test_action_rules_disable_with_a_reason():
    nothing = AppState()
    idle = AppState(has_document=True, has_labels=True, can_undo=True)
    busy = AppState(has_document=True, has_labels=True, can_undo=True, busy=True)
    assert spec("segment").rule(nothing) == "open a CT first"
    assert spec("segment").rule(idle) is None
    for name in ("segment", "open", "save_mask", "undo", "interpolate", "remove_islands", "about"):
        assert "busy" in spec(name).rule(busy), name
    assert spec("redo").rule(idle) == "nothing to redo"
    assert spec("remove_islands").rule(AppState(has_document=True)) .startswith("no labels yet")
    assert spec("seg").rule(AppState(has_document=True, seg_unavailable="not a DICOM source")) == "not a DICOM source"
    assert spec("quit").rule(busy) is None  # quitting asks about a running job itself
    names = [a.name for a in ACTIONS]
    assert len(names) == len(set(names))
    keys = [k for a in ACTIONS for k in a.keys]
    assert len(keys) == len(set(keys)), "two actions share a key"
