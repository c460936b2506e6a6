"""`livseg` command line. Exit codes: 0 success, 1 cancelled/internal, 2 usage error, 3 bad input or models."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from . import __version__
from .errors import InputError, LivSegError, UsageError
from .logs import configure_logging
from .memory import prefer_small_pages

log = logging.getLogger("livseg")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse's own usage errors: exit 2, one line
        self.print_usage(sys.stderr)
        print(f"livseg: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="livseg", description="Liver and liver-tumour segmentation for abdominal CT (research use).")
    p.add_argument("--version", action="version", version=f"livseg {__version__}")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logging")
    p.add_argument("--selftest", action="store_true", help="segment the bundled sample and check the result")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    g = sub.add_parser("gui", help="open the viewer (default)")
    g.add_argument("path", nargs="?", help="NIfTI file or DICOM folder to open")
    g.add_argument("--series", help="series number (1-based) or SeriesInstanceUID")
    sub.add_parser("demo", help="open the viewer on the bundled sample CT")

    i = sub.add_parser("info", help="list the series in a file or folder")
    i.add_argument("path")
    i.add_argument("--json", action="store_true", help="machine-readable output")

    s = sub.add_parser("segment", help="segment liver and tumours")
    s.add_argument("path", help="NIfTI file or DICOM folder")
    s.add_argument("-o", "--output", required=True, help="label map to write (.nii.gz), on the source grid")
    s.add_argument("--series", help="series number (1-based) or SeriesInstanceUID")
    s.add_argument("--report", help="PDF report to write")
    s.add_argument("--json", dest="json_out", help="JSON measurements to write")
    s.add_argument("--csv", help="CSV lesion table to write")
    s.add_argument("--seg", help="DICOM SEG to write (DICOM input only)")
    s.add_argument("--probability", help="the tumour net's probabilities to write (.nii.gz, 0-1 on the source grid), "
                                         "for `livseg refine --probability`")
    s.add_argument("--anonymise", action="store_true", help="leave patient name, ID and date out of reports")
    s.add_argument("--threads", type=int, default=0, help="CPU threads for inference (default: all cores)")
    s.add_argument("--models", help="folder with liver.onnx, tumour.onnx and model_card.json")

    b = sub.add_parser("batch", help="segment every study in a folder or list; resumable, with summary.csv")
    b.add_argument("input", help="folder of NIfTI files and/or DICOM folders (searched recursively), or a text "
                                 "file listing paths")
    b.add_argument("-o", "--output", required=True, help="output folder (label maps, reports, summary.csv)")
    b.add_argument("--workers", type=int, default=1, help="local worker processes (cores are shared between them)")
    b.add_argument("--dask", metavar="ADDRESS", help="run on a Dask distributed scheduler, e.g. tcp://host:8786")
    b.add_argument("--report", action="store_true", help="also write a PDF report per study")
    b.add_argument("--json", action="store_true", help="also write a JSON report per study")
    b.add_argument("--series-filter", help="in folders with several series, the one whose description contains this")
    b.add_argument("--models", help="models folder (default: the bundled models)")

    r = sub.add_parser("refine", help="correct a label map with clicks (the GUI's click tool)")
    r.add_argument("path", help="the CT: NIfTI file or DICOM folder")
    r.add_argument("--labels", required=True, help="label map to start from (.nii/.nii.gz on the CT's grid)")
    r.add_argument("-o", "--output", required=True, help="label map to write (.nii.gz), on the source grid")
    r.add_argument("--click", action="append", required=True, metavar="I,J,K:LABEL+|-",
                   help="0-based voxel in the input's own array order, tumour|liver, + adds / - removes; repeatable, "
                        "applied in order")
    r.add_argument("--series", help="series number (1-based) or SeriesInstanceUID")
    r.add_argument("--models", help="models folder whose click net refines lesions (default: the bundled models)")
    r.add_argument("--probability", help="the tumour net's probabilities from `livseg segment --probability`: a "
                                         "lesion extension then also takes the net's likely rim, as in the window "
                                         "after Segment")

    c = sub.add_parser("compare", help="follow-up: compare a prior and a current study (RECIST 1.1 response)")
    c.add_argument("prior", help="prior study: NIfTI file or DICOM folder")
    c.add_argument("current", help="current study: NIfTI file or DICOM folder")
    c.add_argument("--prior-labels", help="the prior's label map (.nii/.nii.gz, or DICOM SEG .dcm); else segmented")
    c.add_argument("--current-labels", help="the current study's label map; else segmented")
    c.add_argument("--json", dest="json_out", help="comparison JSON to write")
    c.add_argument("--report", help="comparison PDF to write")
    c.add_argument("--csv", help="lesion-by-lesion CSV to write")
    c.add_argument("--models", help="models folder (default: the bundled models)")
    c.add_argument("--threads", type=int, default=0)

    e = sub.add_parser("evaluate", help="run the cascade on labelled cases and print metrics")
    e.add_argument("--data", required=True, help="folder of labelled cases (LivSeg, LiTS or MSD layout)")
    e.add_argument("--models", help="models folder (default: the bundled models)")
    e.add_argument("--cases", help="comma-separated case names (default: all)")
    e.add_argument("--json", dest="json_out", help="write per-case and mean figures here")
    e.add_argument("--threads", type=int, default=0)
    e.add_argument("--update-card", action="store_true", help="store the figures in the models' model card")
    e.add_argument("--sweep-threshold", action="store_true",
                   help="choose the lesion operating threshold on these cases (with --update-card: store it)")

    t = sub.add_parser("train", help="train a net (needs the [train] extra)")
    from .train.command import add_arguments

    add_arguments(t)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.debug)
    prefer_small_pages()  # numpy's huge pages cost a 1 mm click ~100 ms of page faults: see memory.py
    try:
        if args.selftest:
            from .selftest import run_selftest

            return run_selftest()
        command = args.command or "gui"
        if command in ("gui", "demo"):
            from .ui.app import run_gui

            path = getattr(args, "path", None)
            series = getattr(args, "series", None)
            if command == "demo":
                from .resources import sample_ct_path

                path = str(sample_ct_path())
            return run_gui(path, series)
        handler = {"info": cmd_info, "segment": cmd_segment, "batch": cmd_batch, "compare": cmd_compare,
                   "refine": cmd_refine,
                   "evaluate": cmd_evaluate, "train": cmd_train}[command]
        return handler(args)
    except LivSegError as exc:
        if args.debug:
            raise
        print(f"livseg: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("livseg: interrupted", file=sys.stderr)
        return 130
    except MemoryError:
        print("livseg: error: out of memory", file=sys.stderr)
        return 3
    except Exception as exc:  # a bug: one line, the details with --debug
        if args.debug:
            raise
        print(f"livseg: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 1


def cmd_info(args) -> int:
    from .io import list_series

    series = list_series(args.path)
    if all(s.problem for s in series):
        raise InputError(f"{args.path}: nothing LivSeg can load: " + "; ".join(s.problem for s in series))
    if args.json:
        print(json.dumps({"series": [s.as_json() for s in series]}, indent=2))
        return 0
    for s in series:
        print(s.label())
        if s.uid:
            print(f"    uid: {s.uid}")
        if s.orientation:
            print(f"    orientation: {s.orientation}, files: {s.files}")
        for note in s.set_aside:
            print(f"    set aside: {note}")
        for note in s.warnings:
            print(f"    warning: {note}")
        if s.problem:
            print(f"    cannot load: {s.problem}")
    return 0


class _ProgressBar:
    """A text progress bar on stderr, only when stderr is a terminal."""

    def __init__(self):
        self.enabled = sys.stderr.isatty()

    def __call__(self, fraction: float, stage: str) -> None:
        if not self.enabled:
            return
        n = int(fraction * 30)
        sys.stderr.write(f"\r[{'#' * n}{'.' * (30 - n)}] {fraction * 100:5.1f}% {stage:<12}")
        if fraction >= 1.0:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _check_outputs(args) -> None:
    """Refuse before any work: an output that would overwrite the input, or a wrong suffix."""
    src = Path(args.path).resolve()
    outs = [args.output, args.report, args.json_out, args.csv, args.seg, args.probability]
    for out in filter(None, outs):
        o = Path(out).resolve()
        if o == src:
            raise UsageError(f"{out}: output would overwrite the input")
        if not o.parent.is_dir():
            raise UsageError(f"{out}: folder {o.parent} does not exist")
    for out in filter(None, (args.output, args.probability)):
        if not str(out).lower().endswith((".nii", ".nii.gz")):
            raise UsageError(f"{out}: a label or probability map must be .nii or .nii.gz")


def cmd_segment(args) -> int:
    from .workflow import Outputs, load_cascade_in_background, segment_study

    _check_outputs(args)
    outputs = Outputs(labels=args.output, report=args.report, json=args.json_out, csv=args.csv, seg=args.seg,
                      probability=args.probability, anonymise=args.anonymise)
    cascade = load_cascade_in_background(args.models, args.threads)
    res = segment_study(args.path, outputs, cascade, series=args.series, progress=_ProgressBar())
    for w in res.warnings:
        print(f"livseg: warning: {w}", file=sys.stderr)
    extra = f", {res.candidates} candidate(s) below the operating threshold" if res.candidates else ""
    print(f"{args.output}: liver {res.liver_ml:.1f} mL, tumour {res.tumour_ml:.2f} mL, {res.lesion_count} lesion(s)"
          f"{extra}; load {res.timings['load']:.2f} s, segment {res.timings['total_s']:.2f} s")
    return 0


def cmd_batch(args) -> int:
    from .batch import run_batch

    if args.workers < 1:
        raise UsageError("--workers must be at least 1")
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise UsageError(f"{args.output}: the output folder must not be the input")
    rows = run_batch(args.input, args.output, workers=args.workers, dask_address=args.dask, report=args.report,
                     json=args.json, series_filter=args.series_filter, models=args.models)
    ok = sum(r["status"] == "ok" for r in rows)
    print(f"{args.output}/summary.csv: {ok} of {len(rows)} studies segmented, {len(rows) - ok} with errors")
    return 0


CLICK_PATTERN = r"^(\d+),(\d+),(\d+):(tumour|liver)([+-])$"


def parse_click(text: str) -> tuple[tuple[int, int, int], str, bool]:
    """'I,J,K:tumour+' -> ((i, j, k), 'tumour', True); a UsageError for anything else."""
    import re

    m = re.match(CLICK_PATTERN, text.strip())
    if not m:
        raise UsageError(f"--click {text!r}: expected I,J,K:LABEL+ or I,J,K:LABEL- with LABEL tumour or liver")
    return (int(m[1]), int(m[2]), int(m[3])), m[4], m[5] == "+"


def cmd_refine(args) -> int:
    import time

    from .edit import LabelMap
    from .io import load_volume
    from .io.nifti import load_labels_nifti, load_probability_nifti, save_labels_nifti
    from .segment.confidence import TumourProbability
    from .segment.models import load_click_net
    from .workflow import apply_click

    clicks = [parse_click(c) for c in args.click]  # usage errors before any work
    if not str(args.output).lower().endswith((".nii", ".nii.gz")):
        raise UsageError(f"{args.output}: the label map must be .nii or .nii.gz")
    volume = load_volume(args.path, args.series)
    for ijk, _, _ in clicks:
        if any(v >= n for v, n in zip(ijk, volume.source.shape)):
            raise UsageError(f"--click {ijk}: outside the CT's array {volume.source.shape}")
    lm = LabelMap(load_labels_nifti(args.labels, volume))
    probability = (TumourProbability.from_grid(load_probability_nifti(args.probability, volume))
                   if args.probability else None)
    # Any lesion click may use the net (a negative one redraws a lesion from its core), as in the GUI.
    click_net = load_click_net(args.models) if any(t == "tumour" for _, t, _ in clicks) else None
    for ijk, target, positive in clicks:
        t = time.perf_counter()
        change = apply_click(lm, volume, volume.canonical_from_source(ijk), target, positive, probability, click_net)
        what = f"{target}{'+' if positive else '-'} at {ijk}"
        print(f"{what}: {'changed ' + str(int(change.mask().sum())) + ' voxels' if change else 'no change'} "
              f"({1000 * (time.perf_counter() - t):.0f} ms)")
    save_labels_nifti(lm.data, volume, args.output)
    return 0


def cmd_compare(args) -> int:
    from .io.atomic import atomic_write_text
    from .segment import Cascade
    from .workflow import compare_studies

    for out in filter(None, (args.json_out, args.report, args.csv)):
        if not Path(out).resolve().parent.is_dir():
            raise UsageError(f"{out}: folder {Path(out).resolve().parent} does not exist")
    result, cmp, prior, current = compare_studies(
        args.prior, args.current, args.prior_labels, args.current_labels,
        cascade_factory=lambda: Cascade(args.models, threads=args.threads))
    if args.json_out:
        atomic_write_text(args.json_out, json.dumps(result, indent=2) + "\n")
    if args.csv:
        from .report.tables import comparison_csv_text

        atomic_write_text(args.csv, comparison_csv_text(result))
    if args.report:
        from .report.followup_pdf import write_followup_pdf

        write_followup_pdf(result, cmp, prior, current, args.report, result["software"])
    r = result["recist"]
    print(f"RECIST 1.1: {r['category']} ({r['reason']}); {len(result['matched'])} matched, {len(result['new'])} new, "
          f"{len(result['resolved'])} resolved; tumour {result['tumour_volume_ml']['prior']:.2f} -> "
          f"{result['tumour_volume_ml']['current']:.2f} mL")
    return 0


def cmd_evaluate(args) -> int:
    from .evaluate import evaluate_cases

    names = [c for c in (args.cases or "").split(",") if c]
    if args.sweep_threshold:
        from .evaluate import sweep_lesion_threshold

        sweep = sweep_lesion_threshold(args.data, args.models, names, threads=args.threads, out=sys.stdout)
        if args.update_card:
            from .resources import models_dir
            from .train.card import set_lesion_threshold

            set_lesion_threshold(args.models or models_dir(), sweep)
        return 0
    summary = evaluate_cases(args.data, args.models, names, threads=args.threads, out=sys.stdout)
    if args.json_out:
        from .io.atomic import atomic_write_text

        atomic_write_text(args.json_out, json.dumps(summary, indent=2) + "\n")
    if args.update_card:
        from .resources import models_dir
        from .train.card import add_validation

        add_validation(args.models or models_dir(), summary)
    return 0


def cmd_train(args) -> int:
    from .train.command import run

    return run(args)
