"""A corpus of malformed inputs, written on demand (each builder takes a folder, returns a path)."""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import generate_uid

from .factory import edit_headers, phantom, write_nifti, write_series

ROOT = Path(__file__).resolve().parent
DCMQI = ROOT / "data" / "dcmqi-ct3slice"
SAMPLE = ROOT.parent / "resources" / "sample" / "ts-example-ct"


def _nii(d: Path, name="ct.nii") -> Path:
    return write_nifti(d / name, phantom((40, 40, 6)), np.eye(4))


def _patch(p: Path, offset: int, fmt: str, *values) -> Path:
    raw = bytearray(p.read_bytes())
    raw[offset : offset + struct.calcsize(fmt)] = struct.pack(fmt, *values)
    p.write_bytes(bytes(raw))
    return p


def _series(d: Path, n=4, **kw) -> list[Path]:
    return write_series(d, phantom((40, 40, n)), **kw)


def _edit_all(d: Path, fn, n=4) -> Path:
    _series(d, n)
    return edit_headers(d, fn)


def _nonimage(d: Path, sop_class: str, modality: str) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = pydicom.uid.ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID, ds.SOPInstanceUID, ds.Modality = sop_class, meta.MediaStorageSOPInstanceUID, modality
    ds.SeriesInstanceUID = generate_uid()
    ds.save_as(d / "obj.dcm", enforce_file_format=True)
    return d


def nifti_cases() -> dict:
    def empty(d):
        (d / "e.nii").write_bytes(b"")
        return d / "e.nii"

    def empty_gz(d):
        (d / "e.nii.gz").write_bytes(b"")
        return d / "e.nii.gz"

    def random_bytes(d):
        (d / "r.nii").write_bytes(os.urandom(5000))
        return d / "r.nii"

    def text_as_gz(d):
        (d / "t.nii.gz").write_text("not gzip at all\n" * 50)
        return d / "t.nii.gz"

    def gz_of_garbage(d):
        (d / "g.nii.gz").write_bytes(gzip.compress(os.urandom(4000)))
        return d / "g.nii.gz"

    def truncated_gz(d):
        p = write_nifti(d / "t.nii.gz", phantom((40, 40, 6)), np.eye(4))
        p.write_bytes(p.read_bytes()[:300])
        return p

    def header_only(d):
        p = _nii(d)
        p.write_bytes(p.read_bytes()[:352])
        return p

    def lies_about_size(d):
        return _patch(_nii(d), 42, "<h", 60)  # dim[3] = 60 slices, file holds 6

    def offset_past_end(d):
        return _patch(_nii(d), 108, "<f", 1e7)  # vox_offset

    def negative_dim(d):
        return _patch(_nii(d), 40, "<h", -5)

    def absurd_size(d):
        hdr = nib.Nifti1Header()
        hdr.set_data_shape((4096, 4096, 4096))
        hdr.set_data_dtype(np.int16)
        (d / "h.nii").write_bytes(hdr.binaryblock + b"\0" * 4 + b"\0" * 100)
        return d / "h.nii"

    def gzip_bomb(d):
        """~9 MB of gzip that claims (and would expand to) a 4096x4096x512 int16 volume (16 GiB)."""
        hdr = nib.Nifti1Header()
        hdr.set_data_shape((4096, 4096, 512))
        hdr.set_data_dtype(np.int16)
        comp = gzip.compress(hdr.binaryblock + b"\0" * 4 + b"\0" * (8 << 20), compresslevel=9)
        (d / "bomb.nii.gz").write_bytes(comp)
        return d / "bomb.nii.gz"

    def four_d(d):
        return write_nifti(d / "4d.nii", np.zeros((20, 20, 5, 3), np.int16), np.eye(4))

    def two_d(d):
        return write_nifti(d / "2d.nii", np.zeros((20, 20), np.int16), np.eye(4))

    def rgb(d):
        data = np.zeros((20, 20, 5), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
        nib.save(nib.Nifti1Image(data, np.eye(4)), str(d / "rgb.nii"))
        return d / "rgb.nii"

    def complex_(d):
        nib.save(nib.Nifti1Image(np.zeros((20, 20, 5), np.complex64), np.eye(4)), str(d / "c.nii"))
        return d / "c.nii"

    def nan(d):
        a = np.zeros((40, 40, 5), np.float32)
        a[2, 2, 2] = np.nan
        return write_nifti(d / "nan.nii.gz", a, np.eye(4))

    def inf(d):
        a = np.zeros((40, 40, 5), np.float32)
        a[2, 2, 2] = -np.inf
        return write_nifti(d / "inf.nii.gz", a, np.eye(4))

    def singular(d):
        img = nib.Nifti1Image(phantom((40, 40, 6)), None)
        aff = np.eye(4)
        aff[1] = aff[0]
        img.set_sform(aff, code=1)
        nib.save(img, str(d / "s.nii"))
        return d / "s.nii"

    def zero_pixdim(d):
        nib.save(nib.Nifti1Image(phantom((40, 40, 6)), None), str(d / "z.nii"))  # no sform/qform: pixdim rules
        return _patch(d / "z.nii", 76 + 4, "<f", 0.0)

    def nan_affine(d):
        img = nib.Nifti1Image(phantom((40, 40, 6)), None)
        aff = np.eye(4)
        aff[0, 3] = np.nan
        img.set_sform(aff, code=1)
        nib.save(img, str(d / "na.nii"))
        return d / "na.nii"

    def dangling_symlink(d):
        (d / "gone.nii.gz").symlink_to(d / "missing-target.nii.gz")
        return d / "gone.nii.gz"

    def wrong_extension(d):
        (d / "scan.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(100))
        return d / "scan.png"

    return {k: v for k, v in locals().items() if callable(v)}


def dicom_cases() -> dict:
    def empty_folder(d):
        return d

    def only_empty_file(d):
        (d / "a.dcm").write_bytes(b"")
        return d

    def only_random(d):
        for i in range(3):
            (d / f"{i}.dcm").write_bytes(os.urandom(3000))
        return d

    def only_text(d):
        (d / "README.txt").write_text("exported by PACS")
        (d / "sub").mkdir()
        (d / "sub" / "report.pdf").write_bytes(b"%PDF-1.4\n%%EOF")
        return d

    def no_pixel_data(d):
        return _edit_all(d, lambda ds: ds.__delattr__("PixelData"))

    def truncated_pixels(d):
        ps = _series(d)
        ps[1].write_bytes(ps[1].read_bytes()[:-700])
        return d

    def rows_mismatch(d):
        return _edit_all(d, lambda ds: setattr(ds, "Columns", 77))

    def bits_mismatch(d):
        def f(ds):
            ds.BitsAllocated, ds.BitsStored, ds.HighBit = 32, 32, 31
        return _edit_all(d, f)

    def bad_compressed(d):
        from pydicom.encaps import encapsulate

        def f(ds):
            ds.file_meta.TransferSyntaxUID = pydicom.uid.JPEGBaseline8Bit
            ds.PixelData = encapsulate([b"\xff\xd8garbage-not-a-jpeg\xff\xd9" * 3])
            ds["PixelData"].VR = "OB"
            ds.BitsAllocated = ds.BitsStored = 8
            ds.HighBit = 7
            ds.PixelRepresentation = 0
        return _edit_all(d, f)

    def wrong_transfer_syntax(d):
        """Plain 16-bit pixels whose file meta claims RLE Lossless: the decoder fails (and logs a traceback)."""
        for p in _series(d):
            raw = p.read_bytes()
            explicit = str(pydicom.uid.ExplicitVRLittleEndian).encode() + b"\0"
            assert explicit in raw
            p.write_bytes(raw.replace(explicit, str(pydicom.uid.RLELossless).encode() + b"\0", 1))  # same length
        return d

    def truncated_jpeg2000(d):
        """The bundled sample's JPEG 2000 slices with each codestream cut in half."""
        from pydicom.encaps import encapsulate, generate_frames

        for src in sorted(SAMPLE.glob("*.dcm"))[:3]:
            ds = pydicom.dcmread(src)
            frame = next(generate_frames(ds.PixelData, number_of_frames=1))
            ds.PixelData = encapsulate([frame[: len(frame) // 2]])
            ds.save_as(d / src.name)
        return d

    def bits8_holding_16(d):
        """BitsAllocated says 8 while the pixel data holds 16-bit values (twice the bytes)."""
        def f(ds):
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        return _edit_all(d, f)

    def mr(d):
        _series(d, modality="MR")
        return d

    def one_position(d):
        return _edit_all(d, lambda ds: setattr(ds, "ImagePositionPatient", [1.0, 2.0, 3.0]))

    def zero_spacing(d):
        return _edit_all(d, lambda ds: setattr(ds, "PixelSpacing", [0.0, 0.0]))

    def zero_orientation(d):
        return _edit_all(d, lambda ds: setattr(ds, "ImageOrientationPatient", [0.0] * 6))

    def no_position(d):
        return _edit_all(d, lambda ds: ds.__delattr__("ImagePositionPatient"))

    def nan_position(d):
        return _edit_all(d, lambda ds: setattr(ds, "ImagePositionPatient", ["nan", "0", "0"]))

    def zero_slope(d):
        return _edit_all(d, lambda ds: setattr(ds, "RescaleSlope", 0))

    def rgb_ct(d):
        def f(ds):
            ds.SamplesPerPixel = 3
            ds.PhotometricInterpretation = "RGB"
            ds.PlanarConfiguration = 0
        return _edit_all(d, f)

    def lone_seg(d):
        import shutil

        shutil.copy(DCMQI / "liver_seg.dcm", d / "seg.dcm")
        return d

    def lone_sr(d):
        return _nonimage(d, "1.2.840.10008.5.1.4.1.1.88.11", "SR")

    def dangling_links(d):
        (d / "a.dcm").symlink_to(d / "nowhere-a.dcm")
        (d / "b.dcm").symlink_to(d / "nowhere-b.dcm")
        return d

    def missing_folder(d):
        return d / "no-such-folder"

    def enhanced_multiframe(d):
        return _edit_all(d, lambda ds: setattr(ds, "SOPClassUID", "1.2.840.10008.5.1.4.1.1.2.1"))

    def no_pixel_spacing(d):
        return _edit_all(d, lambda ds: ds.__delattr__("PixelSpacing"))

    return {k: v for k, v in locals().items() if callable(v)}
