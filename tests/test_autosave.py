"""Crash recovery: a child process edits and autosaves; we SIGKILL it and restore the edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from livseg_gui.edit import LabelMap, tools
from livseg_gui.edit.autosave import RecoveryStore

CHILD = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from livseg_gui.edit import LabelMap, tools
    from livseg_gui.edit.autosave import RecoveryStore
    store = RecoveryStore(sys.argv[1])
    lm = LabelMap(np.zeros((96, 96, 24), np.uint8))
    for i in range(10_000):
        tools.brush(lm, (10 + (7 * i) % 76, 20 + (5 * i) % 60, i % 24), 4.0, (1.0, 1.0, 2.0), 1 + i % 2)
        store.save(lm.data, "/data/ct.nii.gz", None, lm.version)
        print("saved", i + 1, flush=True)
        time.sleep(float(sys.argv[2]))
    """
)


def _replay(n: int) -> np.ndarray:
    lm = LabelMap(np.zeros((96, 96, 24), np.uint8))
    for i in range(n):
        tools.brush(lm, (10 + (7 * i) % 76, 20 + (5 * i) % 60, i % 24), 4.0, (1.0, 1.0, 2.0), 1 + i % 2)
    return lm.data


def _run_child(folder, pause: float):
    return subprocess.Popen([sys.executable, "-c", CHILD, str(folder), str(pause)], stdout=subprocess.PIPE, text=True)


def test_sigkill_mid_session_loses_at_most_the_stroke_in_flight(tmp_path):
    proc = _run_child(tmp_path, 0.05)
    saved = 0
    while saved < 6:
        line = proc.stdout.readline()
        assert line, "child died early"
        saved = int(line.split()[1])
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    rec = RecoveryStore(tmp_path).find("/data/ct.nii.gz", None)
    assert rec is not None
    # The snapshot holds every stroke the child reported, and at most one more (in flight).
    assert rec.version in (saved, saved + 1)
    np.testing.assert_array_equal(rec.labels, _replay(rec.version))


def test_sigkill_during_autosave_writes_never_leaves_a_torn_file(tmp_path):
    for delay in (0.15, 0.33, 0.52):
        proc = _run_child(tmp_path, 0.0)  # saving back to back: the kill lands inside a write
        proc.stdout.readline()
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        rec = RecoveryStore(tmp_path).find("/data/ct.nii.gz", None)
        assert rec is not None, "the last complete snapshot must survive"
        np.testing.assert_array_equal(rec.labels, _replay(rec.version))
    assert all(r.labels.shape == (96, 96, 24) for r in RecoveryStore(tmp_path).pending())


def test_discard_removes_the_snapshot(tmp_path):
    store = RecoveryStore(tmp_path)
    store.save(np.ones((4, 4, 4), np.uint8), "/x.nii", "1.2.3", 7)
    assert [r.version for r in store.pending()] == [7]
    store.discard("/x.nii", "1.2.3")
    assert store.pending() == []


def test_corrupt_snapshot_is_ignored(tmp_path):
    store = RecoveryStore(tmp_path)
    store.path_for("/x.nii", None).write_bytes(b"LIVSEG-RECOVERY-1\n\x10\x00\x00\x00{not json")
    assert store.find("/x.nii", None) is None
