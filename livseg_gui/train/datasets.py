"""Find labelled CT cases in the three layouts LivSeg trains from, and load them.

- LivSeg case folders: ``<root>/<case>/ct.nii.gz`` + ``label.nii.gz``
- LiTS: ``volume-N.nii[.gz]`` + ``segmentation-N.nii[.gz]`` (anywhere below root)
- MSD Task03_Liver: ``imagesTr/liver_N.nii.gz`` + ``labelsTr/liver_N.nii.gz``
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..io.nifti import load_labels_nifti, load_nifti
from ..io.volume import Volume


@dataclass(frozen=True)
class CaseRef:
    name: str
    ct: Path
    label: Path
    # False when label 1 covers liver and tumour alike (case.json "tumour_labelled": false): such a
    # case may teach the liver net, never the tumour net, and has no tumour figures in `evaluate`.
    tumour_labelled: bool = True


@dataclass
class Case:
    name: str
    volume: Volume
    labels: np.ndarray  # uint8 on the canonical grid
    tumour_labelled: bool = True


def read_case_json(folder: Path) -> dict:
    """A case folder's optional ``case.json``; {} when absent."""
    path = folder / "case.json"
    if not path.is_file():
        return {}
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: unreadable case description ({exc})") from None
    if not isinstance(info, dict):
        raise InputError(f"{path}: expected a JSON object")
    return info


def _nifti_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.endswith((".nii", ".nii.gz")) and not p.name.startswith("."))


def find_cases(root: str | Path) -> list[CaseRef]:
    """All labelled cases under ``root`` in any supported layout, sorted by name."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder")
    refs: list[CaseRef] = []
    # MSD
    images, labels = root / "imagesTr", root / "labelsTr"
    if images.is_dir() and labels.is_dir():
        for img in _nifti_files(images):
            lab = labels / img.name
            if lab.exists():
                refs.append(CaseRef(img.name.split(".")[0], img, lab))
    # LiTS
    lits = re.compile(r"^volume-(\d+)\.nii(\.gz)?$")
    for img in sorted(root.rglob("volume-*.nii*")):
        m = lits.match(img.name)
        if not m:
            continue
        for suffix in (".nii", ".nii.gz"):
            lab = img.with_name(f"segmentation-{m.group(1)}{suffix}")
            if lab.exists():
                refs.append(CaseRef(f"lits-{m.group(1)}", img, lab))
                break
    # LivSeg case folders
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        ct = next((sub / n for n in ("ct.nii.gz", "ct.nii") if (sub / n).exists()), None)
        lab = next((sub / n for n in ("label.nii.gz", "label.nii") if (sub / n).exists()), None)
        if ct and lab:
            tumour_labelled = bool(read_case_json(sub).get("tumour_labelled", True))
            refs.append(CaseRef(sub.name, ct, lab, tumour_labelled))
    if not refs:
        raise InputError(f"{root}: no labelled cases found (expected <case>/ct.nii.gz+label.nii.gz, LiTS or MSD layout)")
    return sorted(refs, key=lambda r: r.name)


def load_case(ref: CaseRef) -> Case:
    vol = load_nifti(ref.ct)
    labels = load_labels_nifti(ref.label, vol)
    return Case(ref.name, vol, labels, ref.tumour_labelled)
