"""Where log records go: LivSeg's own warnings to stderr, everything else to a support log file.

Third-party libraries (pydicom, highdicom, nibabel, Pillow, pylibjpeg) log full tracebacks and
raise Python warnings when a decode fails; LivSeg already turns those failures into one clear
line, so their records go only to ``livseg.log`` in the user's data folder. ``--debug`` sends
everything to stderr instead. Never pixel data, never patient names (they are not logged).
"""

from __future__ import annotations

import logging
import logging.handlers

THIRD_PARTY = ("pydicom", "highdicom", "nibabel", "PIL", "pylibjpeg", "openjpeg", "libjpeg", "onnxruntime",
               "py.warnings")
LOG_NAME = "livseg.log"


def _file_handler() -> logging.Handler:
    from .resources import user_data_dir

    try:
        handler: logging.Handler = logging.handlers.RotatingFileHandler(
            user_data_dir() / LOG_NAME, maxBytes=1_000_000, backupCount=3, delay=True)
    except OSError:  # a read-only home: lose the support log, never the user's command
        return logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    return handler


def configure_logging(debug: bool = False) -> None:
    """Set up logging for this process (the CLI's first step; the GUI starts through the CLI)."""
    root = logging.getLogger()
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")  # no-op where a host set handlers
    root.setLevel(logging.DEBUG if debug else logging.WARNING)
    logging.captureWarnings(not debug)  # warnings.warn() from decoders -> "py.warnings" -> the file
    handler = logging.NullHandler() if debug else _file_handler()
    for name in THIRD_PARTY:
        lib = logging.getLogger(name)
        lib.handlers[:] = [] if debug else [handler]
        lib.propagate = debug
    own = logging.getLogger("livseg")
    own.handlers[:] = [handler]
    own.setLevel(logging.DEBUG if debug else logging.INFO)  # INFO reaches the file; stderr shows WARNING and up
    if not debug:
        for h in root.handlers:
            if isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler):
                h.setLevel(logging.WARNING)
