"""The one place that knows where bundled files live, from source or a PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path


def app_root() -> Path:
    """Folder holding `models/` and `resources/`, the same way for every way the app can run:

    - a PyInstaller bundle: its `_MEIPASS` folder;
    - a regular install (wheel, sdist): `livseg_gui/_data/` in site-packages (see pyproject.toml);
    - a source checkout or an editable install: the repository root.
    """
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle)
    package = Path(__file__).resolve().parent
    installed = package / "_data"
    if (installed / "models").is_dir():
        return installed
    return package.parent


def models_dir() -> Path:
    """Bundled models, unless $LIVSEG_MODELS_DIR points at a retrained set."""
    import os

    override = os.environ.get("LIVSEG_MODELS_DIR")
    return Path(override) if override else app_root() / "models"


def resource_path(*parts: str) -> Path:
    return app_root().joinpath("resources", *parts)


def sample_ct_path() -> Path:
    """The bundled demo CT (a real 20-slice Siemens series, Apache-2.0, TotalSegmentator)."""
    return resource_path("sample", "ts-example-ct")


def user_data_dir() -> Path:
    """Per-user folder for crash recovery and logs ($LIVSEG_DATA_DIR, else XDG data home)."""
    import os

    base = os.environ.get("LIVSEG_DATA_DIR")
    if base:
        p = Path(base)
    else:
        xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
        p = Path(xdg) / "livseg"
    p.mkdir(parents=True, exist_ok=True)
    return p
