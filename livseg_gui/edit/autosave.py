"""Crash recovery: the label map and its undo position, written atomically after each stroke.

One recovery file per opened series lives in the user's data folder. It is written with
write-temp / fsync / rename, so a crash (even during the write) leaves either the previous
or the new snapshot, never a torn one. The GUI debounces calls to :meth:`save`.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..io.atomic import atomic_write_bytes
from ..resources import user_data_dir

MAGIC = b"LIVSEG-RECOVERY-1\n"


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
        header = json.dumps({
            "source_path": str(source_path), "series_uid": series_uid, "version": int(version),
            "shape": list(labels.shape), "saved_at": time.time(),
        }).encode()
        body = zlib.compress(np.ascontiguousarray(labels, dtype=np.uint8).tobytes(), 1)
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
            labels = np.frombuffer(raw, np.uint8).reshape(header["shape"]).copy()
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
