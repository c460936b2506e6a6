"""A regular install (wheel) carries the models, the sample CT and the icons, and the app finds them."""

from __future__ import annotations

import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_the_listed_packages_are_the_source_tree():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "livseg_gui").rglob("__init__.py")}
    assert listed == found | {"livseg_gui._data.models", "livseg_gui._data.resources"}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    return next(out.glob("livseg-*.whl"))


def test_wheel_carries_models_sample_and_icons(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    data = "livseg_gui/_data/"
    for f in ("models/liver.onnx", "models/tumour.onnx", "models/model_card.json", "models/MODEL_CARD.md",
              "resources/icons/livseg.png", "resources/livseg.desktop",
              "resources/sample/ts-example-ct/LICENSE.TotalSegmentator"):
        assert data + f in names, f
    dcm = [n for n in names if n.startswith(data + "resources/sample/ts-example-ct/") and n.endswith(".dcm")]
    assert len(dcm) == len(list((ROOT / "resources" / "sample" / "ts-example-ct").glob("*.dcm"))) == 20
    assert not any("baseline" in n for n in names)  # the comparison U-Net stays in the repository


def test_installed_app_finds_its_data_outside_the_repository(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    code = ("from livseg_gui.resources import app_root, models_dir, sample_ct_path\n"
            "from livseg_gui.segment.modelcard import load_card\n"
            "from livseg_gui.io import load_volume\n"
            "print(app_root())\n"
            "load_card(models_dir()).net('liver').verify()\n"
            "print(load_volume(sample_ct_path()).shape)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert proc.returncode == 0, proc.stderr
    root, shape = proc.stdout.split("\n")[:2]
    assert Path(root) == target / "livseg_gui" / "_data"
    assert shape == "(512, 512, 20)"
