"""Sanity limits checked before any voxel is allocated."""

from __future__ import annotations

import os

import numpy as np

from ..errors import InputError

# No CT the app is meant for comes near this; a 4096^3 header is refused outright.
MAX_VOXELS = 2048 * 2048 * 2048 // 4
MAX_DIM = 4096


def available_memory_bytes() -> int:
    """Memory the OS says is available now (Linux /proc/meminfo, else physical pages)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 1 << 40


def check_shape(shape: tuple[int, ...], itemsize: int, what: str) -> None:
    """Refuse absurd or unaffordable sizes with the numbers, before allocating anything."""
    if any(int(s) <= 0 for s in shape):
        raise InputError(f"{what}: empty image dimension {tuple(int(s) for s in shape)}")
    if any(int(s) > MAX_DIM for s in shape):
        raise InputError(f"{what}: image size {tuple(int(s) for s in shape)} exceeds {MAX_DIM} voxels per axis")
    n = int(np.prod([int(s) for s in shape], dtype=np.float64))
    if n > MAX_VOXELS:
        raise InputError(f"{what}: {n:,} voxels is more than any CT this app supports")
    # The loaded int16 volume plus one working copy must fit.
    need = n * max(itemsize, 2) * 2
    avail = available_memory_bytes()
    if need > avail:
        raise InputError(
            f"{what}: needs {need / 2**30:.1f} GiB, {avail / 2**30:.1f} GiB available"
        )


def check_spacing(spacing: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise InputError(f"{what}: voxel spacing {np.round(spacing, 4).tolist()} must be positive")
    if np.any(spacing > 100) or np.any(spacing < 1e-3):
        raise InputError(f"{what}: implausible voxel spacing {np.round(spacing, 4).tolist()} mm")


def check_finite(array: np.ndarray, what: str) -> None:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        raise InputError(f"{what}: image contains NaN or infinite values")
