"""One study from input to files: load, segment, write the mask and the reports. No Qt.

`livseg segment`, `livseg batch` (locally or on Dask workers) and the self-test all run this, so
the pipeline exists once.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the cascade's imports (scipy, onnxruntime) can then overlap the first load
    from .io.volume import Volume
    from .segment.cascade import Cascade, ProgressFn, SegmentationResult
    from .segment.confidence import TumourProbability
    from .segment.models import Models


@dataclass
class Outputs:
    """Where a study's results go; None skips that output."""

    labels: str | Path
    report: str | Path | None = None  # PDF
    json: str | Path | None = None
    csv: str | Path | None = None
    seg: str | Path | None = None  # DICOM SEG (DICOM input only)
    probability: str | Path | None = None  # the tumour net's probabilities (NIfTI), for `livseg refine --probability`
    anonymise: bool = False


@dataclass
class StudyResult:
    liver_ml: float
    tumour_ml: float
    lesion_count: int
    candidates: int
    timings: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def build_study_report(result: SegmentationResult, volume: Volume, cascade: Cascade, anonymise: bool = False):
    """(report dict, analysis) of a fresh cascade result: lesions with confidence, pending candidates."""
    from .measure import analyse
    from .report import build_report

    prob = result.tumour_probability
    analysis = analyse(result.labels, volume, confidence=prob.peak if prob else None)
    candidates = [(f"C{i}", c) for i, c in enumerate(result.candidates, start=1)]
    report = build_report(analysis, volume, model=cascade.card.report_entry(), anonymise=anonymise,
                          candidates=candidates)
    # The cascade's own warnings (e.g. why no liver was reported) lead the report's list, on page 1.
    report["warnings"] = [w for w in result.warnings if w not in report["warnings"]] + report["warnings"]
    return report, analysis


def _in_background(fn, name: str) -> Future:
    """``fn()`` in a thread of its own; its result (or error) in the future."""
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(1, thread_name_prefix=name)
    future = pool.submit(fn)
    pool.shutdown(wait=False)
    return future


def load_cascade_in_background(models: str | Path | None, threads: int) -> Future[Cascade]:
    """Import and build the cascade in a thread while the caller loads the CT (the two overlap)."""

    def build() -> Cascade:
        from .segment import Cascade

        return Cascade(models, threads=threads)

    return _in_background(build, "livseg-models")


def prepare_clicks_in_background(models: Models | None) -> Future[None]:
    """Import the click tools and load the click net of ``models`` (None: the classical tools only) in a thread,
    ahead of the first click: the import alone (scipy's sparse solver and qhull) added ~80 ms to the first click
    after a segmentation. A failure is left in the future; the click itself reports it."""

    def prepare() -> None:
        from .edit import clicks  # noqa: F401

        if models is not None:
            models.click_net()

    return _in_background(prepare, "livseg-clicks")


def smooth_liver_in_background(volume: Volume, labels) -> tuple[Future[None], threading.Event]:
    """Smooth the CT within the liver of ``labels`` (the live label array; read a part at a time) around the liver
    in a thread, as lesion clicks will look at it (:meth:`~livseg_gui.edit.clicks.LiverSmoothing.ahead`): 2.0-2.6 s
    of one core on ircadb-17 after a segmentation; once done, ~0.03 s to check the liver and what an edit reached done
    again; each lesion click then takes 60-90 ms less. Then, once per CT, within soft tissue, as a click outside the
    model's liver looks at it (:class:`~livseg_gui.edit.clicks.SoftTissueSmoothing`). Set the event to stop it."""
    stop = threading.Event()

    def smooth() -> None:
        from .edit.clicks import liver_smoothing_of, soft_tissue_smoothing_of

        liver_smoothing_of(volume.array, volume.spacing).ahead(volume.array, labels, stop.is_set)
        soft_tissue_smoothing_of(volume.array, volume.spacing).ahead(volume.array, labels, stop.is_set)

    return _in_background(smooth, "livseg-smooth"), stop


def save_tumour_probability(probability: TumourProbability | None, volume: Volume, path: str | Path) -> Path:
    """Write the tumour net's probabilities (a :class:`~livseg_gui.segment.confidence.TumourProbability`, or None
    when no liver was found: nothing likely anywhere) on the CT's source grid, for `livseg refine --probability`."""
    import numpy as np

    from .io.nifti import save_probability_nifti

    grid = probability.on_grid(volume.shape) if probability is not None else np.zeros(volume.shape, np.uint8)
    return save_probability_nifti(grid, volume, path)


def segment_study(path: str | Path, outputs: Outputs, cascade: Cascade | Future[Cascade], series: str | None = None,
                  progress: ProgressFn | None = None) -> StudyResult:
    """Segment one NIfTI file or DICOM series and write every requested output (each atomically).

    ``cascade`` may still be loading (:func:`load_cascade_in_background`); it is waited for after the CT.
    """
    from .io import load_volume
    from .io.nifti import save_labels_nifti

    t0 = time.perf_counter()
    volume = load_volume(path, series)
    if outputs.seg:
        from .io.seg import check_seg_possible

        check_seg_possible(volume)  # refuse before the work, not after it
    t_load = time.perf_counter() - t0
    if isinstance(cascade, Future):
        cascade = cascade.result()
    result = cascade.run(volume, progress=progress)
    t1 = time.perf_counter()
    save_labels_nifti(result.labels, volume, outputs.labels)
    if outputs.probability:
        save_tumour_probability(result.tumour_probability, volume, outputs.probability)
    lesions = None
    if outputs.report or outputs.json or outputs.csv:
        from .report import write_csv, write_json, write_pdf

        report, analysis = build_study_report(result, volume, cascade, outputs.anonymise)
        report["timings_s"] = {"load": round(t_load, 3), **{k: round(v, 3) for k, v in result.timings.items()}}
        lesions = report["lesion_count"]
        if outputs.json:
            write_json(report, outputs.json)
        if outputs.csv:
            write_csv(report, outputs.csv)
        if outputs.report:
            write_pdf(report, analysis, volume, result.labels, outputs.report)
    if outputs.seg:
        from .io.seg import write_seg

        write_seg(result.labels, volume, outputs.seg)
    if lesions is None:  # no report asked for: count them the way the report would
        from .measure.lesions import count_lesions

        lesions = count_lesions(result.labels, volume.voxel_volume_ml)
    ml = volume.voxel_volume_ml
    return StudyResult(
        liver_ml=float((result.labels >= 1).sum()) * ml, tumour_ml=float((result.labels == 2).sum()) * ml,
        lesion_count=lesions, candidates=len(result.candidates),
        timings={"load": t_load, **result.timings, "write": time.perf_counter() - t1},
        warnings=list(volume.warnings) + list(result.warnings),
    )


def study_labels(path: str | Path, labels_path: str | Path | None, cascade_factory, series: str | None = None):
    """(volume, canonical labels, analysis) of a study: its mask from a file, or segmented now."""
    from .io import load_volume
    from .measure import analyse

    volume = load_volume(path, series)
    confidence = None
    if labels_path:
        if str(labels_path).lower().endswith(".dcm"):
            from .io.seg import read_seg

            labels, _ = read_seg(labels_path, volume)
        else:
            from .io.nifti import load_labels_nifti

            labels = load_labels_nifti(labels_path, volume)
    else:
        result = cascade_factory().run(volume)
        labels = result.labels
        prob = result.tumour_probability
        confidence = prob.peak if prob else None
    return volume, labels, analyse(labels, volume, confidence=confidence)


def compare_studies(prior: str | Path, current, prior_labels: str | Path | None = None,
                    current_labels: str | Path | None = None, cascade_factory=None):
    """Follow-up comparison of two studies: (result dict for JSON, Comparison, prior, current).

    ``current`` is a path, or (volume, labels, analysis) already open (the GUI's session).
    ``prior``/``current`` in the return are (volume, labels) pairs for key images.
    """
    from . import __version__
    from .measure.followup import compare, comparison_dict
    from .segment import Cascade

    cache: list[Cascade] = []

    def cascade() -> Cascade:  # built once, only if a study needs segmenting
        if not cache:
            cache.append(cascade_factory() if cascade_factory else Cascade())
        return cache[0]

    pv, pl, pa = study_labels(prior, prior_labels, cascade)
    if isinstance(current, tuple):
        cv, cl, ca = current
        current = cv.meta.source_path
    else:
        cv, cl, ca = study_labels(current, current_labels, cascade)
    cmp = compare(pa, pl, pv, ca, cl, cv)
    result = comparison_dict(cmp)
    result["warnings"] = [f"prior: {w}" for w in pa.warnings] + [f"current: {w}" for w in ca.warnings]
    for key, path, labels_path, analysis in (("prior", prior, prior_labels, pa), ("current", current, current_labels, ca)):
        result[key] = {"source": str(path), "labels": str(labels_path) if labels_path else "segmented by LivSeg",
                       "liver_volume_ml": round(analysis.liver_volume_ml, 2),
                       "tumour_volume_ml": round(analysis.tumour_volume_ml, 3), "lesion_count": len(analysis.lesions)}
    result["software"] = f"LivSeg {__version__}"
    return result, cmp, (pv, pl), (cv, cl)


def plan_click(labels, volume: Volume, voxel, target: str, positive: bool, probability=None, click_net=None,
               learned_first: bool | None = None, previous=()):
    """What one click of the click tool (GUI or `livseg refine`) would change: a
    :class:`~livseg_gui.edit.clicks.ClickEdit` or None. ``labels`` is the current uint8 array, only read.

    ``target`` is "tumour" or "liver"; ``click_net`` the learned lesion-click net
    (:func:`~livseg_gui.segment.models.load_click_net`), or None for the classical tools alone;
    ``learned_first`` overrides which a positive lesion click tries first (see ``edit.clicks.LEARNED_FIRST``);
    ``previous`` are the clicks behind the current labels (``LabelMap.clicks()``). The edit carries this click,
    so the undo history remembers it.
    """
    from .edit.clicks import LEARNED_FIRST, plan_lesion_click, plan_liver_click
    from .edit.labelmap import Click

    if target == "tumour":
        edit = plan_lesion_click(labels, volume.array, volume.spacing, voxel, positive, probability, click_net,
                                 LEARNED_FIRST if learned_first is None else learned_first, previous)
    elif target == "liver":
        edit = plan_liver_click(labels, volume.array, volume.spacing, voxel, positive)
    else:
        raise ValueError(f"unknown click target {target!r} (tumour or liver)")
    if edit is not None:
        edit.click = Click(tuple(int(round(float(v))) for v in voxel), target, positive)
    return edit


def apply_click(labels, volume: Volume, voxel, target: str, positive: bool, probability=None, click_net=None,
                learned_first: bool | None = None):
    """:func:`plan_click` on a :class:`~livseg_gui.edit.labelmap.LabelMap`, applied as one undoable change (or None)."""
    edit = plan_click(labels.data, volume, voxel, target, positive, probability, click_net, learned_first,
                      labels.clicks())
    return edit.apply(labels) if edit is not None else None
