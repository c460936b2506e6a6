"""Helpers shared by the benchmark scripts: peak RSS of a child process, and synthetic CT writers."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def run_measured(code: str) -> dict:
    """Run ``code`` in a fresh Python; it must print one JSON line. Adds the child's peak RSS (MiB)."""
    wrapper = textwrap.dedent(
        """
        import json, resource, sys
        _out = {}
        def report(**kw):
            _out.update(kw)
        """
    ) + textwrap.dedent(code) + textwrap.dedent(
        """
        _out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(_out))
        """
    )
    proc = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


SYNTH_CT = """
def synth_ct(shape):
    import numpy as np
    rng = np.random.default_rng(0)
    x, y, z = shape
    vol = np.full(shape, -1000, np.int16)
    yy, xx = np.mgrid[:x, :y]
    body = ((xx - y / 2) / (0.42 * y)) ** 2 + ((yy - x / 2) / (0.35 * x)) ** 2 < 1
    for k in range(z):
        sl = np.where(body, 40, -1000).astype(np.int16)
        sl[body] += rng.integers(-20, 20, size=int(body.sum()), dtype=np.int16)
        vol[:, :, k] = sl
    return vol
"""
