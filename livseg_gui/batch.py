"""`livseg batch`: segment every study under a folder (or listed in a file), resumably.

- One label map per input in OUTDIR (plus reports when asked) and ``OUTDIR/summary.csv`` with a row per
  input: a bad input is a row with its reason, never an abort.
- Every output is written atomically and the summary after each study, so a crash or Ctrl+C loses at
  most the study in flight; running again skips the studies already done.
- ``workers`` local processes (each with cores // workers inference threads), or a Dask distributed
  cluster (``dask_address``): the same function runs on the same inputs either way, so results match.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from .errors import LivSegError, UsageError
from .io.atomic import atomic_write_text
from .io.nifti import is_nifti_path

SUMMARY = "summary.csv"
COLUMNS = ("input", "status", "error", "liver_ml", "tumour_ml", "lesion_count", "seconds", "output")


@dataclass
class Job:
    input: str
    output: str  # label map path
    report: str | None = None
    json: str | None = None
    series_filter: str | None = None
    models: str | None = None
    threads: int = 1


def _is_dicom_file(p: Path) -> bool:
    if p.suffix.lower() == ".dcm":
        return True
    try:
        with open(p, "rb") as f:
            head = f.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"


def discover(source: str | Path) -> list[Path]:
    """Studies to segment: NIfTI files and folders that directly hold DICOM files, searched recursively;
    or, when ``source`` is a text file, the paths it lists (one per line, # comments)."""
    src = Path(source)
    if src.is_file() and not is_nifti_path(src):
        lines = [ln.strip() for ln in src.read_text(errors="replace").splitlines()]
        return [Path(ln) if Path(ln).is_absolute() else src.parent / ln for ln in lines if ln and not ln.startswith("#")]
    if src.is_file():
        return [src]
    if not src.is_dir():
        raise UsageError(f"{src}: no such file or folder")
    found: list[Path] = []
    for folder, dirs, files in os.walk(src):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        here = Path(folder)
        names = sorted(f for f in files if not f.startswith("."))
        found += [here / f for f in names if is_nifti_path(f)]
        if any(_is_dicom_file(here / f) for f in names if not is_nifti_path(f)):
            found.append(here)
    return found


def output_name(study: Path, root: Path) -> str:
    """A flat, unique file stem for a study: its path below the batch root, '/' -> '__'."""
    try:
        rel = study.resolve().relative_to(root.resolve())
    except ValueError:
        rel = Path(*study.resolve().parts[1:])
    name = "__".join(rel.parts) or study.name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _pick_series(path: str, text: str | None) -> str | None:
    """The series whose description contains ``text`` (case-insensitive); None when not asked."""
    if not text or not Path(path).is_dir():
        return None
    from .io import list_series

    matches = [s for s in list_series(path) if text.lower() in (s.description or "").lower() and not s.problem]
    if len(matches) != 1:
        raise LivSegError(f"--series-filter {text!r} matches {len(matches)} loadable series")
    return str(matches[0].index)


_CASCADES: dict = {}


def run_job(job: Job) -> dict:
    """Segment one study; always returns a summary row (never raises for a bad input).

    Runs in this process, a local worker process, or a Dask worker: the cascade is built once per process.
    """
    t0 = time.perf_counter()
    row = {"input": job.input, "status": "ok", "error": "", "liver_ml": "", "tumour_ml": "", "lesion_count": "",
           "seconds": "", "output": job.output}
    try:
        from .segment import Cascade
        from .workflow import Outputs, segment_study

        key = (job.models, job.threads)
        if key not in _CASCADES:
            _CASCADES[key] = Cascade(job.models, threads=job.threads)
        res = segment_study(job.input, Outputs(labels=job.output, report=job.report, json=job.json),
                            _CASCADES[key], series=_pick_series(job.input, job.series_filter))
        row.update(liver_ml=round(res.liver_ml, 2), tumour_ml=round(res.tumour_ml, 3), lesion_count=res.lesion_count)
    except LivSegError as exc:
        row.update(status="error", error=str(exc))
    except MemoryError:
        row.update(status="error", error="out of memory")
    except Exception as exc:  # a bug on one study must not stop the archive
        row.update(status="error", error=f"internal error: {type(exc).__name__}: {exc}")
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def read_summary(path: Path) -> dict[str, dict]:
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        return {r["input"]: r for r in csv.DictReader(f)}


def write_summary(path: Path, rows: Iterable[dict]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    atomic_write_text(path, buf.getvalue())


class Progress:
    """'[####....] 3/10 ETA 0:42 name' on stderr when it is a terminal; one line per study otherwise."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.start, self.stream = total, 0, time.perf_counter(), stream
        self.tty = stream.isatty()

    def step(self, row: dict) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        bar = "#" * int(30 * self.done / max(1, self.total))
        text = (f"[{bar:<30}] {self.done}/{self.total} ETA {int(eta) // 60}:{int(eta) % 60:02d} "
                f"{row['status']:<5} {Path(row['input']).name}")
        if self.tty:
            self.stream.write("\r" + text[:120].ljust(120) + ("\n" if self.done == self.total else ""))
        else:
            self.stream.write(text + (f" ({row['error']})" if row["error"] else "") + "\n")
        self.stream.flush()


def run_batch(source: str | Path, outdir: str | Path, workers: int = 1, dask_address: str | None = None,
              report: bool = False, json: bool = False, series_filter: str | None = None, models: str | None = None,
              on_row: Callable[[dict], None] | None = None) -> list[dict]:
    """Segment every study not yet done; returns the summary rows (all inputs, old and new)."""
    # Absolute paths: Dask workers run elsewhere (they need the same shared file system).
    src, out = Path(source).resolve(), Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    root = src if src.is_dir() else src.parent
    studies = discover(src)
    summary_path = out / SUMMARY
    rows = read_summary(summary_path)
    jobs = []
    workers = max(1, workers)
    # Local: share the cores between workers. Dask: each task may use the worker machine's cores
    # (start workers with `dask worker --nthreads 1` so tasks do not oversubscribe them).
    threads = max(1, (os.cpu_count() or 1) // workers) if not dask_address else 0
    for study in studies:
        stem = output_name(study, root)
        job = Job(input=str(study), output=str(out / f"{stem}.nii.gz"), report=str(out / f"{stem}.pdf") if report else None,
                  json=str(out / f"{stem}.json") if json else None, series_filter=series_filter, models=models,
                  threads=threads)
        prev = rows.get(job.input)
        wanted = [f for f in (job.output, job.report, job.json) if f]
        if prev and prev["status"] == "ok" and all(Path(f).is_file() for f in wanted):
            continue  # finished in an earlier run, with every output asked for now
        jobs.append(job)
    order = {str(s): i for i, s in enumerate(studies)}
    progress = Progress(len(jobs))

    def record(row: dict) -> None:
        rows[row["input"]] = row
        write_summary(summary_path, sorted(rows.values(), key=lambda r: order.get(r["input"], len(order))))
        progress.step(row)
        if on_row:
            on_row(row)

    if dask_address:
        _run_on_dask(jobs, dask_address, record)
    elif workers == 1:
        for job in jobs:
            record(run_job(job))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        # spawn: a fresh interpreter per worker (onnxruntime's thread pools do not survive fork)
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as pool:
            for fut in as_completed([pool.submit(run_job, job) for job in jobs]):
                record(fut.result())
    return [rows[str(s)] for s in studies if str(s) in rows]


def _run_on_dask(jobs: list[Job], address: str, record: Callable[[dict], None]) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError:
        raise UsageError("--dask needs the batch extra: pip install 'livseg[batch]'") from None
    try:
        client = Client(address, timeout="10s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    with client:
        # pure=False: the same path may be resubmitted after an edit; never reuse a cached result
        run = uuid.uuid4().hex[:8]
        futures = [client.submit(run_job, job, pure=False, key=f"livseg-{run}-{i}") for i, job in enumerate(jobs)]
        for fut in as_completed(futures):
            record(fut.result())
