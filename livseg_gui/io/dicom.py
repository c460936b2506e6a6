"""DICOM CT series: recursive scan, grouping by SeriesInstanceUID, stack planning and loading.

Stack planning works from headers only (so ``livseg info`` never decodes pixels):
images whose orientation differs from the majority (e.g. a coronal reformat inside an axial
series) and duplicate positions are set aside with a reason; slices are sorted along the
slice normal and the spacing comes from the positions, never from SliceThickness. Where a
slice is missing, the stack is resampled onto a regular grid so the geometry stays true.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset
from pydicom.errors import InvalidDicomError

from ..errors import InputError
from .guards import check_shape, check_spacing
from .volume import Metadata, Volume, hu_array, make_volume

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
ENHANCED_CT = "1.2.840.10008.5.1.4.1.1.2.1"
IMAGE_SOP_PREFIXES = ("1.2.840.10008.5.1.4.1.1.",)
NON_IMAGE_SOPS = {
    "1.2.840.10008.5.1.4.1.1.66.4": "segmentation (SEG)",
    "1.2.840.10008.5.1.4.1.1.88": "structured report (SR)",
    "1.2.840.10008.5.1.4.1.1.481.3": "RT structure set",
    "1.2.840.10008.5.1.4.1.1.11": "presentation state",
    "1.2.840.10008.5.1.4.1.1.104": "encapsulated document",
}
_POSITION_TOL_MM = 0.01


@dataclass
class DicomSeries:
    """One series found in a folder, with the stack that would be loaded."""

    uid: str
    modality: str
    description: str
    number: int | None
    headers: list[tuple[Path, Dataset]] = field(default_factory=list)
    kept: list[tuple[Path, Dataset]] = field(default_factory=list)  # sorted along the normal
    positions: np.ndarray | None = None  # mm along the normal, for `kept`
    set_aside: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    problem: str | None = None  # why this series cannot be loaded, if it cannot

    @property
    def files(self) -> int:
        return len(self.headers)

    def shape(self) -> tuple[int, int, int] | None:
        if not self.kept:
            return None
        ds = self.kept[0][1]
        return int(ds.Columns), int(ds.Rows), len(self.kept)

    def spacing(self) -> tuple[float, float, float] | None:
        if not self.kept:
            return None
        ps = _pixel_spacing(self.kept[0][1])
        if ps is None:
            return None
        dz = float(np.median(np.diff(self.positions))) if len(self.kept) > 1 else _thickness(self.kept[0][1])
        return ps[1], ps[0], dz

    def summary(self) -> str:
        shp = self.shape()
        desc = self.description or "(no description)"
        extra = f", {shp[2]} slices" if shp else ""
        return f"{desc} [{self.modality}{extra}] uid={self.uid}"


def _text(ds: Dataset, key: str) -> str:
    """A header field as text; '' when absent or corrupt (a bad element must not sink the whole series)."""
    try:
        return str(ds.get(key, "") or "")
    except Exception:
        return ""


def _pixel_spacing(ds: Dataset) -> list[float] | None:
    """PixelSpacing as floats; None when missing or corrupt (pydicom raises almost anything on a bad element,
    NotImplementedError for a corrupted VR among them)."""
    try:
        return [float(v) for v in ds.PixelSpacing]
    except Exception:
        return None


def _thickness(ds: Dataset) -> float:
    try:
        return float(ds.SliceThickness) or 1.0
    except Exception:  # missing or corrupt, as for PixelSpacing: one slice needs no thickness
        return 1.0


def _read_header(path: Path) -> Dataset | None:
    """Header only; files without the 128-byte preamble are accepted (force=True)."""
    try:
        ds = pydicom.dcmread(str(path), stop_before_pixels=True, force=True)
    except (InvalidDicomError, OSError, EOFError, ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return None
    except Exception:  # pydicom can raise almost anything on garbage; never crash a scan
        return None
    # force=True "reads" any file; a real DICOM object has at least these.
    if "SOPClassUID" not in ds and "Modality" not in ds:
        return None
    return ds


def _iter_files(root: Path):
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if p.is_file():  # skips dangling symlinks
                yield p


def scan_folder(root: str | Path) -> list[DicomSeries]:
    """All DICOM series under ``root`` (recursively), image series first, sorted by number/uid."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    groups: dict[str, DicomSeries] = {}
    others: Counter[str] = Counter()
    n_files = 0
    for path in _iter_files(root):
        n_files += 1
        ds = _read_header(path)
        if ds is None:
            continue
        try:
            sop = str(ds.get("SOPClassUID", ""))
            uid = str(ds.get("SeriesInstanceUID", "")) or "(missing SeriesInstanceUID)"
        except Exception:  # a corrupt element (bad VR or length) in an otherwise readable file
            others["unreadable header"] += 1
            continue
        if sop in NON_IMAGE_SOPS:
            others[NON_IMAGE_SOPS[sop]] += 1
            continue
        if sop and not sop.startswith(IMAGE_SOP_PREFIXES):
            others["non-image object"] += 1
            continue
        if uid not in groups:
            try:
                num = ds.get("SeriesNumber", None)
                num = int(num) if num not in (None, "") else None
            except Exception:
                num = None
            groups[uid] = DicomSeries(
                uid=uid, modality=_text(ds, "Modality") or "?", description=_text(ds, "SeriesDescription"), number=num,
            )
        groups[uid].headers.append((path, ds))
    if n_files == 0:
        raise InputError(f"{root}: folder is empty")
    if not groups:
        what = ", ".join(f"{n} {k}" for k, n in others.items())
        raise InputError(f"{root}: no DICOM images found" + (f" (only {what})" if what else ""))
    series = sorted(groups.values(), key=lambda s: (s.number if s.number is not None else 1 << 30, s.uid))
    for s in series:
        plan_stack(s)
        if others:
            s.warnings.append("ignored beside the images: " + ", ".join(f"{n} {k}" for k, n in others.items()))
    return series


def _orientation(ds: Dataset) -> np.ndarray | None:
    try:
        iop = np.array([float(v) for v in ds.ImageOrientationPatient], dtype=np.float64)
    except Exception:
        return None
    if iop.shape != (6,) or not np.all(np.isfinite(iop)):
        return None
    r, c = iop[:3], iop[3:]
    if np.linalg.norm(r) < 1e-3 or np.linalg.norm(c) < 1e-3 or np.linalg.norm(np.cross(r, c)) < 1e-3:
        return None
    return iop


def plan_stack(series: DicomSeries) -> None:
    """Choose the consistent stack of a series from headers alone (fills kept/positions/notes)."""
    s = series
    if s.modality != "CT":
        s.problem = f"series is {s.modality}, not CT; LivSeg's models are for CT only"
    sops = {_text(ds, "SOPClassUID") for _, ds in s.headers}
    if ENHANCED_CT in sops:
        s.problem = s.problem or "multi-frame Enhanced CT is not supported; export the series as single-frame CT"
    usable, no_geom = [], 0
    for path, ds in s.headers:
        try:
            iop = _orientation(ds)
            ipp = np.array([float(v) for v in ds.ImagePositionPatient], dtype=np.float64)
            rows, cols = int(ds.Rows), int(ds.Columns)
            str(ds.get("SOPClassUID", ""))
            [float(v) for v in ds.get("PixelSpacing", [])]
        except Exception:  # missing or corrupt geometry elements
            no_geom += 1
            continue
        if iop is None or ipp.shape != (3,) or not np.all(np.isfinite(ipp)) or rows <= 0 or cols <= 0:
            no_geom += 1
            continue
        usable.append((path, ds, iop, ipp, rows, cols))
    if no_geom:
        s.set_aside.append(f"{no_geom} file(s) without usable orientation, position or size")
    if not usable:
        s.problem = s.problem or "no image with a valid orientation (ImageOrientationPatient) and position"
        return
    # Majority orientation and matrix size: a stray reformat is set aside, not mixed in.
    key = lambda u: (tuple(np.round(u[2], 3)), u[4], u[5])  # noqa: E731
    common, _ = Counter(key(u) for u in usable).most_common(1)[0]
    odd = [u for u in usable if key(u) != common]
    if odd:
        s.set_aside.append(f"{len(odd)} image(s) with a different orientation or size than the other {len(usable) - len(odd)}")
    stack = [u for u in usable if key(u) == common]
    iop = stack[0][2]
    normal = np.cross(iop[:3], iop[3:])
    pos = np.array([float(u[3] @ normal) for u in stack])
    order = np.argsort(pos, kind="stable")
    stack, pos = [stack[i] for i in order], pos[order]
    keep = np.ones(len(stack), bool)
    keep[1:] = np.diff(pos) > _POSITION_TOL_MM
    if len(stack) > 1 and keep.sum() == 1:
        s.problem = s.problem or f"all {len(stack)} images share one position: not a volume"
    if not keep.all():
        s.set_aside.append(f"{int((~keep).sum())} duplicate slice position(s)")
    stack, pos = [u for u, k in zip(stack, keep) if k], pos[keep]
    s.kept = [(u[0], u[1]) for u in stack]
    s.positions = pos
    ps = _pixel_spacing(stack[0][1])
    if ps is None:
        s.problem = s.problem or "PixelSpacing is missing or unreadable"
        return
    if len(ps) != 2 or min(ps) <= 0 or not np.all(np.isfinite(ps)):
        s.problem = s.problem or f"invalid PixelSpacing {ps}"
        return
    if len(pos) > 1:
        gaps = np.diff(pos)
        med = float(np.median(gaps))
        if gaps.max() > 1.5 * med or gaps.min() < 0.67 * med:
            s.warnings.append(
                f"uneven slice spacing ({gaps.min():.2f}-{gaps.max():.2f} mm, median {med:.2f}): "
                "a slice may be missing; resampled to a regular grid"
            )


def probe_pixels(series: DicomSeries) -> None:
    """Check every planned file's pixel data from its element header, and decode one slice.

    Lets ``livseg info`` flag a series that would fail to load, without decoding the whole stack.
    """
    s = series
    if s.problem or not s.kept:
        return
    rows, cols = int(s.kept[0][1].Rows), int(s.kept[0][1].Columns)
    for path, _ in s.kept:
        try:
            ds = pydicom.dcmread(str(path), force=True, defer_size=1024)
            if "PixelData" not in ds:
                raise InputError(f"{path.name}: no pixel data (7FE0,0010)")
            _check_pixel_length(ds, path, rows, cols)
        except InputError as exc:
            s.problem = str(exc)
            return
        except Exception as exc:
            s.problem = f"{path.name}: unreadable DICOM ({type(exc).__name__})"
            return
    try:
        _decode(s.kept[len(s.kept) // 2][0], rows, cols)
    except InputError as exc:
        s.problem = str(exc)


def load_series(series: DicomSeries) -> Volume:
    """Decode the planned stack into a canonical :class:`Volume`."""
    s = series
    if s.problem:
        raise InputError(f"series {s.description or s.uid}: {s.problem}")
    first = s.kept[0][1]
    cols, rows, n = s.shape()
    check_shape((cols, rows, n), 2, f"series {s.description or s.uid}")
    iop = _orientation(first)
    r, c = iop[:3], iop[3:]
    normal = np.cross(r, c)
    dr, dc = (float(v) for v in first.PixelSpacing)
    positions = s.positions
    dz = float(np.median(np.diff(positions))) if n > 1 else _thickness(first)
    check_spacing(np.array([dc, dr, dz]), f"series {s.description or s.uid}")

    array: np.ndarray = np.empty((cols, rows, n), dtype=np.int16, order="F")  # axial slices contiguous
    for k, (path, _hdr) in enumerate(s.kept):
        hu = _decode(path, rows, cols)
        if hu.dtype != np.int16 and array.dtype == np.int16:
            array = array.astype(np.float32, order="F")  # rare: non-integer rescale; one conversion
        array[:, :, k] = hu.T
    regular = np.allclose(np.diff(positions), dz, rtol=0.1, atol=0.05) if n > 1 else True
    if not regular:
        array, positions = _regularise(array, positions, dz)
    origin = np.array([float(v) for v in s.kept[0][1].ImagePositionPatient])
    origin = origin + normal * (positions[0] - float(origin @ normal))
    lps = np.eye(4)
    lps[:3, 0] = r * dc
    lps[:3, 1] = c * dr
    lps[:3, 2] = normal * dz
    lps[:3, 3] = origin
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    meta = Metadata(
        patient_name=_text(first, "PatientName"),
        patient_id=_text(first, "PatientID"),
        study_date=_text(first, "StudyDate"),
        study_description=_text(first, "StudyDescription"),
        series_description=s.description,
        series_uid=s.uid,
        modality=s.modality,
        manufacturer=_text(first, "Manufacturer"),
        source_format="dicom",
        source_path=str(Path(s.kept[0][0]).parent),
        dicom_files=[str(p) for p, _ in s.kept],
    )
    notes = [f"set aside: {x}" for x in s.set_aside] + list(s.warnings)
    return make_volume(array, ras, meta, notes)


def _check_pixel_length(ds: Dataset, path: Path, rows: int, cols: int) -> None:
    """Native (uncompressed) pixel data must be exactly Rows x Columns x BitsAllocated/8 x SamplesPerPixel
    x frames bytes (plus one pad byte when that is odd); otherwise the header lies about the pixels and
    decoding would give garbage, e.g. 16-bit values read as 8-bit."""
    ts = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if ts is not None and ts.is_compressed:
        return  # encapsulated: the decoder checks its own stream
    bits = int(ds.BitsAllocated)
    spp = int(ds.get("SamplesPerPixel", 1) or 1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    expected = (rows * cols * bits * spp * frames + 7) // 8
    elem = ds["PixelData"]
    length = elem.length if hasattr(elem, "length") else len(ds.PixelData)
    if length < expected:
        raise InputError(f"{path.name}: pixel data is truncated ({length} of {expected} bytes)")
    if length > expected + expected % 2:
        raise InputError(
            f"{path.name}: pixel data holds {length} bytes but Rows x Columns x BitsAllocated/8 x SamplesPerPixel "
            f"x frames = {rows} x {cols} x {bits}/8 x {spp} x {frames} = {expected}: the header (0028,0100) "
            "BitsAllocated does not describe these pixels")


def _decode(path: Path, rows: int, cols: int) -> np.ndarray:
    """One slice in HU (rows, cols); every failure is an InputError naming the file."""
    try:
        return _decode_unchecked(path, rows, cols)
    except InputError:
        raise
    except Exception as exc:  # corrupt elements surface lazily, as almost any exception type
        raise InputError(f"{path.name}: corrupt DICOM header ({type(exc).__name__}: {str(exc)[:120]})") from None


def _decode_unchecked(path: Path, rows: int, cols: int) -> np.ndarray:
    try:
        ds = pydicom.dcmread(str(path), force=True)
    except Exception as exc:
        raise InputError(f"{path.name}: unreadable DICOM ({type(exc).__name__})") from None
    if "PixelData" not in ds:
        raise InputError(f"{path.name}: no pixel data (7FE0,0010)")
    if int(ds.get("SamplesPerPixel", 1)) != 1:
        raise InputError(f"{path.name}: colour image (SamplesPerPixel {ds.SamplesPerPixel}); CT must be greyscale")
    if int(ds.Rows) != rows or int(ds.Columns) != cols:
        raise InputError(f"{path.name}: size {ds.Rows}x{ds.Columns} differs from the series")
    _check_pixel_length(ds, path, rows, cols)
    try:
        raw = ds.pixel_array
    except Exception as exc:
        ts = ds.file_meta.get("TransferSyntaxUID", "?") if hasattr(ds, "file_meta") else "?"
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()] or [type(exc).__name__]
        reason = lines[0] if not lines[0].endswith(":") or len(lines) < 2 else f"{lines[0]} {lines[1]}"
        raise InputError(f"{path.name}: pixel data cannot be decoded (transfer syntax {ts}): {reason[:200]}") from None
    if raw.shape != (rows, cols):
        raise InputError(f"{path.name}: pixel data shape {raw.shape} does not match Rows x Columns {rows}x{cols}")
    try:
        slope = ds.get("RescaleSlope", None)
        inter = ds.get("RescaleIntercept", None)
        slope = 1.0 if slope in (None, "") else float(slope)
        inter = 0.0 if inter in (None, "") else float(inter)
    except (TypeError, ValueError):
        raise InputError(f"{path.name}: invalid RescaleSlope/RescaleIntercept (0028,1053/1052)") from None
    if not (np.isfinite(slope) and np.isfinite(inter)) or slope == 0:
        raise InputError(f"{path.name}: invalid rescale slope {slope} / intercept {inter}")
    return hu_array(raw, slope, inter)


def _regularise(array: np.ndarray, positions: np.ndarray, dz: float) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation onto a regular grid of step dz (fills a missing slice)."""
    n_new = int(round((positions[-1] - positions[0]) / dz)) + 1
    grid = positions[0] + dz * np.arange(n_new)
    out = np.empty(array.shape[:2] + (n_new,), dtype=array.dtype, order="F")
    for k, z in enumerate(grid):
        j = int(np.clip(np.searchsorted(positions, z) - 1, 0, len(positions) - 2))
        t = float(np.clip((z - positions[j]) / (positions[j + 1] - positions[j]), 0, 1))
        blend = array[:, :, j] * (1 - t) + array[:, :, j + 1] * t
        out[:, :, k] = np.rint(blend) if out.dtype == np.int16 else blend
    return out, grid
