"""How this process asks the OS for memory."""

from __future__ import annotations


def prefer_small_pages() -> bool:
    """Stop numpy asking Linux for transparent huge pages for its arrays of 4 MiB and more (``madvise``), as
    numpy's documented ``NUMPY_MADVISE_HUGEPAGE=0`` does (read only when numpy is imported: here its setter is
    called instead). Returns whether numpy asked for them until now (False where it has no such setter).

    A click's temporaries are new arrays of 10-30 MB each time. Asked for as huge pages, each fault clears 2 MiB:
    in the click benchmark's long-running process on the build machine, radct-1720's 1 mm isodense click spent
    ~110 ms of system time on ~1.6k faults (~30 ms on ~15k small ones without) and took 302 ms against 198. Over
    the 1 mm benchmark's seven lesion clicks (two runs each, alternated): max 323 / 352 -> 235 / 232 ms; the liver's
    clicks and `livseg segment` took as long (3.78 / 4.10 against 4.16 / 4.17 s), its peak memory 590 -> 546 MiB.
    Nothing changes where the OS gives huge pages to every process or to none."""
    import numpy as np

    core = getattr(np, "_core", None) or getattr(np, "core", None)  # numpy 2 / 1.26
    multiarray = getattr(core, "multiarray", None)
    setter = getattr(multiarray, "_set_madvise_hugepage", None)
    return bool(setter(False)) if setter is not None else False
