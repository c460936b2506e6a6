"""Background work (loading, segmentation) in QThreads; results come back as signals. Garbage is collected in the
GUI thread only while they run (:func:`collect_garbage_in_gui_thread`)."""

from __future__ import annotations

import gc
import threading
import traceback

from pyqtgraph.util.garbage_collector import GarbageCollector
from PySide6 import QtCore

from ..errors import Cancelled, LivSegError

_collector: GarbageCollector | None = None


def collect_garbage_in_gui_thread() -> None:
    """Turn Python's automatic cycle collection off and collect on a timer in the GUI thread instead (once per
    process; called from the GUI thread before any background thread starts). Automatic collection runs in whichever
    thread happens to allocate: in a Worker's thread it destroyed Qt objects of closed windows off the GUI thread and
    crashed (a segfault while a DICOM folder loaded, in CI's GUI tests); the autosave and click threads allocate too.
    pyqtgraph's GarbageCollector is the known remedy."""
    global _collector
    if _collector is None and gc.isenabled():
        _collector = GarbageCollector(interval=1.0)


class Worker(QtCore.QObject):
    """Runs ``fn(worker)`` in its own QThread. ``fn`` may call ``worker.progress`` and ``worker.slab``."""

    sigProgress = QtCore.Signal(float, str)
    sigSlab = QtCore.Signal(int, int, object)
    sigDone = QtCore.Signal(object)
    sigFailed = QtCore.Signal(str)
    sigCancelled = QtCore.Signal()

    def __init__(self, fn):
        super().__init__()
        self.fn = fn
        self._cancel = threading.Event()
        self.thread = QtCore.QThread()
        self.moveToThread(self.thread)
        self.thread.started.connect(self._run)

    def start(self) -> None:
        self.thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def progress(self, fraction: float, stage: str) -> None:
        self.sigProgress.emit(fraction, stage)

    def slab(self, k0: int, k1: int, data) -> None:
        self.sigSlab.emit(k0, k1, data)

    @QtCore.Slot()
    def _run(self) -> None:
        try:
            result = self.fn(self)
        except Cancelled:
            self.sigCancelled.emit()
        except LivSegError as exc:
            self.sigFailed.emit(str(exc))
        except MemoryError:
            self.sigFailed.emit("out of memory")
        except Exception as exc:  # a bug: keep the app alive, show it, log it
            traceback.print_exc()
            self.sigFailed.emit(f"internal error: {type(exc).__name__}: {exc}")
        else:
            self.sigDone.emit(result)
        finally:
            self.thread.quit()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)
