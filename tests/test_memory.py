"""The process's memory settings: what `livseg` asks of numpy before it works on a CT."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SAMPLE = Path(__file__).resolve().parent.parent / "resources" / "sample" / "ts-example-ct"


@pytest.mark.skipif(not hasattr(getattr(np, "_core", None), "multiarray")
                    or not hasattr(np._core.multiarray, "_get_madvise_hugepage"), reason="numpy without the switch")
def test_the_command_line_stops_numpy_asking_for_huge_pages():
    """In a fresh process (numpy reads NUMPY_MADVISE_HUGEPAGE once, at import; here forced on, as numpy's default is
    on any kernel since 4.6), `livseg` turns the requests off before it reads the CT."""
    code = ("import numpy, sys; from livseg_gui.cli import main; get = numpy._core.multiarray._get_madvise_hugepage; "
            "before = get(); code = main(['info', sys.argv[1]]); print(before, get(), code)")
    run = subprocess.run([sys.executable, "-c", code, str(SAMPLE)], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "NUMPY_MADVISE_HUGEPAGE": "1"})
    assert run.stdout.split()[-3:] == ["True", "False", "0"], run.stderr
