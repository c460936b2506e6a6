"""NIfTI-1/2 reading and label-map writing (nibabel)."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import nibabel as nib
import numpy as np
from nibabel.openers import ImageOpener

from ..errors import InputError
from .atomic import atomic_write_bytes
from .guards import check_finite, check_shape, check_spacing
from .volume import Metadata, Volume, hu_array, make_volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def is_nifti_path(path: str | Path) -> bool:
    name = str(path).lower()
    return name.endswith(NIFTI_SUFFIXES)


def _header_affine(img: nib.Nifti1Image | nib.Nifti2Image, name: str) -> np.ndarray:
    """sform if set, else qform, else nibabel's fallback; refused if singular."""
    hdr = img.header
    affine = None
    if int(hdr["sform_code"]) > 0:
        affine = hdr.get_sform()
    elif int(hdr["qform_code"]) > 0:
        affine = hdr.get_qform()
    else:
        affine = hdr.get_base_affine()
    affine = np.asarray(affine, dtype=np.float64)
    if not np.all(np.isfinite(affine)):
        raise InputError(f"{name}: affine contains NaN or infinite values")
    if abs(np.linalg.det(affine[:3, :3])) < 1e-9:
        raise InputError(f"{name}: singular affine (zero or degenerate voxel axes)")
    return affine


def read_nifti_header(path: str | Path) -> tuple[nib.Nifti1Image, np.ndarray]:
    """Open a NIfTI lazily and validate everything knowable from the header."""
    p = Path(path)
    name = p.name
    if not p.is_file():
        raise InputError(f"{p}: no such file")
    try:
        img = nib.load(str(p))
    except Exception as exc:  # nibabel raises many types for a broken header
        raise InputError(f"{name}: not a readable NIfTI file ({type(exc).__name__}: {exc})") from None
    if not isinstance(img, (nib.Nifti1Image, nib.Nifti2Image)):
        raise InputError(f"{name}: not a NIfTI image")
    hdr = img.header
    dtype = hdr.get_data_dtype()
    if dtype.fields is not None or dtype.kind not in "iuf" or dtype.kind == "c":
        raise InputError(f"{name}: data type {dtype} is not a scalar image (RGB, complex or compound)")
    shape = tuple(int(s) for s in img.shape)
    if len(shape) > 3:
        extra = [s for s in shape[3:] if s != 1]
        if extra:
            raise InputError(f"{name}: {len(shape)}-D image {shape}; LivSeg needs a single 3-D CT volume")
        shape = shape[:3]
    if len(shape) < 3:
        raise InputError(f"{name}: {len(shape)}-D image {shape}; LivSeg needs a 3-D CT volume")
    check_shape(shape, dtype.itemsize, name)
    affine = _header_affine(img, name)
    if int(hdr["sform_code"]) == 0:
        # nibabel silently turns a zero pixdim into 1 mm; the raw header tells the truth.
        with ImageOpener(str(p)) as f:
            raw = type(hdr).from_fileobj(f, check=False)
        check_spacing(np.asarray(raw["pixdim"][1:4], dtype=np.float64), name)
    check_spacing(np.linalg.norm(affine[:3, :3], axis=0), name)
    return img, affine


def _gzip_module():
    """isal's igzip (Intel ISA-L: standard gzip, several times faster) when installed, else the stdlib."""
    try:
        from isal import igzip

        return igzip
    except ImportError:  # a platform without an isal wheel: same files, slower
        return gzip


def _read_gz_voxels(path: Path, img: nib.Nifti1Image, shape: tuple[int, ...]) -> np.ndarray:
    """The unscaled voxels of a .nii.gz, decompressing exactly header + data bytes (never more)."""
    hdr = img.header
    dtype = hdr.get_data_dtype()
    offset = int(img.dataobj.offset)  # vox_offset as nibabel resolved it (the header's may read 0)
    out = np.empty(shape, dtype=dtype, order="F")
    view = memoryview(out.T).cast("B")  # out.T is C-contiguous: the same bytes in file order
    with _gzip_module().open(str(path), "rb") as f:
        if len(f.read(offset)) < offset:
            raise EOFError("no voxel data after the header")
        got = 0
        while got < len(view):  # readinto may return less than asked at gzip member boundaries
            n = f.readinto(view[got:])
            if not n:
                raise EOFError(f"{got} of {len(view)} data bytes")
            got += n
    return out


def load_nifti(path: str | Path) -> Volume:
    """Load a 3-D NIfTI CT as a canonical :class:`Volume` (HU, int16 where lossless).

    ``.nii`` is memory-mapped; ``.nii.gz`` is decompressed with isal (see :func:`_gzip_module`).
    """
    p = Path(path)
    img, affine = read_nifti_header(p)
    shape = tuple(int(s) for s in img.shape[:3])
    try:
        if p.name.lower().endswith(".gz"):
            raw = _read_gz_voxels(p, img, shape)
        else:
            raw = np.asanyarray(img.dataobj.get_unscaled()).reshape(shape, order="A")
    except (EOFError, OSError, zlib.error, gzip.BadGzipFile, ValueError, OverflowError, MemoryError) as exc:
        raise InputError(f"{p.name}: file is truncated or corrupt ({type(exc).__name__}: {exc})") from None
    slope, inter = img.dataobj.slope, img.dataobj.inter
    slope = 1.0 if slope is None or not np.isfinite(slope) or slope == 0 else float(slope)
    inter = 0.0 if inter is None or not np.isfinite(inter) else float(inter)
    check_finite(raw, p.name)
    hu = hu_array(raw, slope, inter)
    meta = Metadata(
        series_description=p.name.removesuffix(".gz").removesuffix(".nii"),
        source_path=str(p),
        source_format="nifti",
        series_uid=None,
    )
    return make_volume(hu, affine, meta)


def save_labels_nifti(labels: np.ndarray, volume: Volume, path: str | Path) -> Path:
    """Write a canonical label map onto the volume's *source* grid and affine, atomically."""
    return _save_on_source_grid(labels, volume, path, b"LivSeg labels 0=bg 1=liver 2=tumour")


def save_probability_nifti(probability: np.ndarray, volume: Volume, path: str | Path) -> Path:
    """Write the tumour net's probabilities (canonical uint8 0-255, ``TumourProbability.on_grid``) onto the volume's
    source grid, atomically: uint8 with scl_slope 1/255, so a viewer shows 0-1."""
    return _save_on_source_grid(probability, volume, path, b"LivSeg tumour probability 0-1", slope=1.0 / 255.0)


def _save_on_source_grid(data: np.ndarray, volume: Volume, path: str | Path, descrip: bytes,
                         slope: float | None = None) -> Path:
    p = Path(path)
    # NIfTI stores x fastest: a Fortran-ordered array is written as is, a C-ordered one transposed twice.
    src = np.asfortranarray(volume.to_source(data).astype(np.uint8, copy=False))
    if src.shape != volume.source.shape:
        raise ValueError(f"array shape {src.shape} does not match source {volume.source.shape}")
    if volume.meta.source_path and p.resolve() == Path(volume.meta.source_path).resolve():
        raise InputError(f"{p}: refusing to overwrite the opened CT")
    img = nib.Nifti1Image(src, volume.source.affine)
    img.header.set_data_dtype(np.uint8)
    img.header.set_xyzt_units("mm")
    img.set_sform(volume.source.affine, code=1)
    img.set_qform(volume.source.affine, code=1)
    img.header["descrip"] = descrip
    if slope is not None:
        img.header.set_slope_inter(slope, 0.0)
    data = img.to_bytes()
    if p.name.lower().endswith(".gz"):
        gz = _gzip_module()  # standard gzip either way; isal level 2 is ~ zlib level 6 in size, much faster
        data = gz.compress(data, compresslevel=2, mtime=0) if gz is not gzip else gzip.compress(data, 6, mtime=0)
    atomic_write_bytes(p, data)
    return p


def load_labels_nifti(path: str | Path, volume: Volume) -> np.ndarray:
    """Read a label map saved on the volume's source grid; return it on the canonical grid."""
    p = Path(path)
    labels = np.rint(_load_on_source_grid(p, volume, "mask")[1]).astype(np.int16)
    if labels.min() < 0 or labels.max() > 2:
        raise InputError(f"{p.name}: labels must be 0, 1 or 2 (found {int(labels.min())}..{int(labels.max())})")
    return volume.labels_from_source(labels.astype(np.uint8))


def load_probability_nifti(path: str | Path, volume: Volume) -> np.ndarray:
    """Read tumour probabilities (0-1) saved on the volume's source grid (:func:`save_probability_nifti`); return
    them on the canonical grid as uint8 0-255."""
    p = Path(path)
    img, prob = _load_on_source_grid(p, volume, "probability map")
    slope = float(getattr(img.dataobj, "slope", 1.0))  # nibabel moves the header's scl_slope to the array proxy
    if np.issubdtype(img.get_data_dtype(), np.integer) and slope == 1.0:
        # A label map passed by mistake would read as probability 1 wherever it is not background.
        raise InputError(f"{p.name}: whole numbers without a scale, not probabilities (write them with "
                         "`livseg segment --probability`)")
    if prob.min() < 0 or prob.max() > 1.0 + 1e-6:
        raise InputError(f"{p.name}: probabilities must lie in 0..1 (found {float(prob.min()):g}..{float(prob.max()):g})")
    return volume.labels_from_source(np.rint(prob * 255.0).astype(np.uint8))


def _load_on_source_grid(p: Path, volume: Volume, what: str) -> tuple[nib.Nifti1Image, np.ndarray]:
    """(image, voxel values as float32 with its scaling applied) of a map saved on the volume's source grid;
    InputError when its shape or affine is not the CT's or it holds NaN/inf."""
    img, affine = read_nifti_header(p)
    shape = tuple(int(s) for s in img.shape[:3])
    if shape != volume.source.shape:
        raise InputError(f"{p.name}: {what} shape {shape} does not match the CT {volume.source.shape}")
    if not np.allclose(affine, volume.source.affine, atol=1e-3):
        raise InputError(f"{p.name}: {what} geometry (affine) does not match the open CT")
    data = np.asarray(img.dataobj, dtype=np.float32).reshape(shape)
    check_finite(data, p.name)
    return img, data
