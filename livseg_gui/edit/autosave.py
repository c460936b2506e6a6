"""Crash recovery: the label map and its undo position, written atomically after each stroke.

One recovery file per opened series lives in the user's data folder. It is written with
write-temp / fsync / rename, so a crash (even during the write) leaves either the previous
or the new snapshot, never a torn one.

:class:`BackgroundSaver` keeps the GUI responsive: the GUI thread only copies the label map
(a memcpy, ~10 ms at 512x512x200); compression and the write happen in a worker thread, newest
snapshot wins, and a discard waits for a write in flight so that it cannot bring a file back.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_bytes
from ..resources import user_data_dir

MAGIC = b"LIVSEG-RECOVERY-1\n"
log = logging.getLogger("livseg.autosave")


@dataclass
class Recovery:
    path: Path
    source_path: str
    series_uid: str | None
    version: int
    saved_at: float
    labels: np.ndarray


def recovery_key(source_path: str, series_uid: str | None) -> str:
    return hashlib.sha1(f"{Path(source_path).resolve()}|{series_uid}".encode()).hexdigest()[:16]


class RecoveryStore:
    def __init__(self, folder: str | Path | None = None):
        self.folder = Path(folder) if folder else user_data_dir() / "recovery"
        self.folder.mkdir(parents=True, exist_ok=True)

    def path_for(self, source_path: str, series_uid: str | None) -> Path:
        return self.folder / f"{recovery_key(source_path, series_uid)}.livrec"

    def save(self, labels: np.ndarray, source_path: str, series_uid: str | None, version: int) -> Path:
        labels = np.asarray(labels, dtype=np.uint8)
        # Written in the array's own memory order: a Fortran-ordered label map needs no transposing copy.
        order = "F" if labels.flags.f_contiguous and not labels.flags.c_contiguous else "C"
        raw = labels.T if order == "F" else np.ascontiguousarray(labels)
        header = json.dumps({
            "source_path": str(source_path), "series_uid": series_uid, "version": int(version),
            "shape": list(labels.shape), "order": order, "saved_at": time.time(),
        }).encode()
        body = zlib.compress(memoryview(raw).cast("B"), 1)
        buf = io.BytesIO()
        buf.write(MAGIC)
        buf.write(len(header).to_bytes(4, "little"))
        buf.write(header)
        buf.write(body)
        return atomic_write_bytes(self.path_for(source_path, series_uid), buf.getvalue())

    def load(self, path: Path) -> Recovery | None:
        """A recovery snapshot, or None if the file is unreadable (it is then left for support)."""
        try:
            data = path.read_bytes()
            if not data.startswith(MAGIC):
                return None
            n = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 4], "little")
            start = len(MAGIC) + 4
            header = json.loads(data[start : start + n])
            raw = zlib.decompress(data[start + n :])
            order = header.get("order", "C")
            labels = np.frombuffer(raw, np.uint8).reshape(header["shape"], order=order).copy(order="K")
        except (OSError, ValueError, KeyError, zlib.error):
            return None
        return Recovery(path, header["source_path"], header["series_uid"], int(header["version"]),
                        float(header["saved_at"]), labels)

    def find(self, source_path: str, series_uid: str | None) -> Recovery | None:
        p = self.path_for(source_path, series_uid)
        return self.load(p) if p.exists() else None

    def pending(self) -> list[Recovery]:
        """Every snapshot left behind (a clean exit or an explicit save removes its file)."""
        found = [self.load(p) for p in sorted(self.folder.glob("*.livrec"))]
        return [r for r in found if r is not None]

    def discard(self, source_path: str, series_uid: str | None) -> None:
        self.path_for(source_path, series_uid).unlink(missing_ok=True)


class BackgroundSaver:
    """Autosave off the GUI thread: :meth:`request` copies, a worker thread compresses and writes."""

    def __init__(self, store: RecoveryStore, on_error: Callable[[str], None] | None = None):
        self.store = store
        self.on_error = on_error or (lambda msg: log.warning("autosave failed: %s", msg))
        self._cond = threading.Condition()
        self._pending: tuple[np.ndarray, str, str | None, int] | None = None
        self._busy = False
        self._thread = threading.Thread(target=self._loop, name="livseg-autosave", daemon=True)
        self._thread.start()

    def request(self, labels: np.ndarray, source_path: str, series_uid: str | None, version: int) -> None:
        """Queue a snapshot of ``labels`` as they are now; a newer request replaces an unwritten one."""
        snapshot = np.array(labels, dtype=np.uint8, order="K", copy=True)
        with self._cond:
            self._pending = (snapshot, source_path, series_uid, version)
            self._cond.notify_all()

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every requested snapshot is on disk; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: self._pending is None and not self._busy, timeout)

    def discard(self, source_path: str, series_uid: str | None) -> None:
        """Drop unwritten snapshots, wait for a write in flight, then remove the file."""
        with self._cond:
            self._pending = None
            self._cond.wait_for(lambda: not self._busy)
            self.store.discard(source_path, series_uid)

    def _loop(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending is not None)
                job, self._pending = self._pending, None
                self._busy = True
            try:
                self.store.save(*job)
            except Exception as exc:  # disk full, permissions: report it, keep the thread alive
                self.on_error(str(exc))
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
