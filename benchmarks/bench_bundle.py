"""The PyInstaller bundles: build time, sizes, start-to-first-frame, self-test time.

    python benchmarks/bench_bundle.py [--build]        # --build runs `pyinstaller build.spec` first

Start-to-first-frame is measured from outside: the app is started with LIVSEG_QUIT_AFTER_MS=0,
which closes the window from the first turn of the event loop, i.e. right after the first frame;
the process exit is immediate (see ui/app.shutdown), so the wall time is an upper bound.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def du_mib(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 2**20
    # Symlinks inside the bundle point at files already counted.
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 2**20


def timed(cmd: list[str], env: dict) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", action="store_true")
    ap.add_argument("--dist", default=str(ROOT / "dist"))
    args = ap.parse_args()
    dist = Path(args.dist)
    if args.build:
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN", "--distpath",
                        str(dist), str(ROOT / "build.spec")], check=True, cwd=ROOT)
        print(f"build time: {time.perf_counter() - t:.0f} s")
    onedir, onefile = dist / "livseg" / "livseg", dist / "livseg-onefile"
    print(f"one-folder bundle: {du_mib(onedir.parent):.0f} MiB; one-file executable: {du_mib(onefile):.0f} MiB")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen"),
               "LIVSEG_QUIT_AFTER_MS": "0", "LIVSEG_DATA_DIR": tmp}
        for name, exe in (("one-folder", onedir), ("one-file", onefile)):
            runs = [timed([str(exe)], env) for _ in range(3)]
            st = timed([str(exe), "--selftest"], {**os.environ, "LIVSEG_DATA_DIR": tmp})
            print(f"{name}: start to first frame (and exit) median {statistics.median(runs):.2f} s over 3 runs; "
                  f"--selftest {st:.1f} s")


if __name__ == "__main__":
    main()
