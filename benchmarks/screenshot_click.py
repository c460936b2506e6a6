"""Screenshot of a lesion found with one click, in the real GUI under an X server (e.g. Xvfb).

    xvfb-run -s "-screen 0 1280x720x24" python benchmarks/screenshot_click.py OUT_DIR

The bundled sample CT has no lesion, so a soft-edged hypodense lesion (25 mm, -25 HU, textured) is added
to a copy of it -- a synthetic lesion, as the training's, in a real scan. The script segments it, then
takes the cascade's tumour back to liver (as if the cascade had missed the lesion), switches to the click
tool and clicks once at the lesion's centre; it prints the Dice of the cascade's and the click's lesion
against the pasted one, and 05_one_click.png shows the result and the lesion table.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PySide6 import QtWidgets
from screenshot_gui import shot, wait

from livseg_gui.io import load_volume
from livseg_gui.measure.metrics import Overlap
from livseg_gui.resources import sample_ct_path
from livseg_gui.ui.main_window import MainWindow


def ct_with_lesion(folder: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """The sample as NIfTI with a synthetic lesion in its liver: the path, the lesion's centre (voxel) and its
    mask (the 50 % iso-surface, canonical grid)."""
    import nibabel as nib
    from scipy import ndimage

    vol = load_volume(sample_ct_path())
    hu = vol.array.astype(np.float32)
    centre = np.array([175, 280, 10])  # in the right lobe of the sample's liver (canonical voxels)
    g = np.indices(hu.shape).astype(np.float32) * np.array(vol.spacing, np.float32)[:, None, None, None]
    r = np.sqrt(sum((gi - c * s) ** 2 for gi, c, s in zip(g, centre, vol.spacing))) / 12.5
    soft = 1.0 / (1.0 + np.exp((r - 1.0) / 0.08))
    texture = ndimage.gaussian_filter(np.random.default_rng(0).standard_normal(hu.shape).astype(np.float32), 1.0) * 20
    hu += soft * (-25.0 + texture)
    path = folder / "sample_with_lesion.nii.gz"
    nib.save(nib.Nifti1Image(np.rint(hu).astype(np.int16), vol.affine), str(path))
    return path, centre, soft > 0.5


def main() -> int:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    app = QtWidgets.QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as tmp:
        path, centre, lesion = ct_with_lesion(Path(tmp))
        win = MainWindow()
        win.showMaximized()
        win.open_path(str(path))
        wait(app, lambda: win.document is not None and win.worker is None)
        win.set_window(150, 30)
        win.segment()
        wait(app, lambda: win.worker is None)
        labels = win.document.labels.data.copy()
        cascade_dice = Overlap.of(labels == 2, lesion).dice
        labels[labels == 2] = 1
        win.document.labels.replace_all("missed lesion", labels)
        before = int((win.document.labels.data == 2).sum())
        win.tool_panel.set_tool("click")
        win.tool_panel.label_box.setCurrentIndex(1)  # tumour
        win._set_cursor(centre.astype(float))  # as a click in the view would
        t = time.perf_counter()
        win.click_at(centre.astype(float))
        wait(app, lambda: win.worker is None)
        print(f"one click: {int((win.document.labels.data == 2).sum()) - before} tumour voxels added in "
              f"{1000 * (time.perf_counter() - t):.0f} ms (the click net: {win.models.click_net() is not None}), "
              f"lesion Dice {Overlap.of(win.document.labels.data == 2, lesion).dice:.2f} "
              f"(the cascade's before it was cleared: {cascade_dice:.2f})")
        win.update_lesions()
        win.overlay_panel.outline.setChecked(True)  # outlines: the lesion's own edge stays visible under them
        shot(app, out / "05_one_click.png")
        win.document.labels.mark_saved()
        win.close()
    return 0


if __name__ == "__main__":
    from livseg_gui.ui.app import shutdown

    shutdown(main())  # leave as the app does: interpreter finalisation can abort in Qt / pyqtgraph destructors
