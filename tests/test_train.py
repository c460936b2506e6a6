"""Trainer: model size, a learning step, ONNX parity, synthetic tumours, dataset layouts."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
from scipy import ndimage

from livseg_gui.train.datasets import find_cases, load_case
from livseg_gui.train.synth_tumour import paste_tumour

from .factory import phantom


def _write_case(ct_path, lab_path, shape=(48, 48, 12)):
    hu = phantom(shape, marker=(5, 5, 2))
    lab = np.zeros(shape, np.uint8)
    lab[12:36, 12:36, 3:9] = 1
    lab[20:26, 20:26, 5:7] = 2
    nib.save(nib.Nifti1Image(hu, np.diag([0.8, 0.8, 2.0, 1])), str(ct_path))
    nib.save(nib.Nifti1Image(lab, np.diag([0.8, 0.8, 2.0, 1])), str(lab_path))


def test_reads_lits_layout(tmp_path):
    for n in (3, 12):
        _write_case(tmp_path / f"volume-{n}.nii", tmp_path / f"segmentation-{n}.nii")
    refs = find_cases(tmp_path)
    assert [r.name for r in refs] == ["lits-12", "lits-3"]
    case = load_case(refs[0])
    assert case.labels.shape == case.volume.shape and set(np.unique(case.labels)) == {0, 1, 2}


def test_reads_msd_layout(tmp_path):
    (tmp_path / "imagesTr").mkdir()
    (tmp_path / "labelsTr").mkdir()
    _write_case(tmp_path / "imagesTr" / "liver_7.nii.gz", tmp_path / "labelsTr" / "liver_7.nii.gz")
    (tmp_path / "imagesTr" / "._liver_7.nii.gz").write_bytes(b"macOS junk")
    refs = find_cases(tmp_path)
    assert [r.name for r in refs] == ["liver_7"]
    assert (load_case(refs[0]).labels == 2).sum() == 6 * 6 * 2


def test_reads_livseg_case_folders(tmp_path):
    (tmp_path / "a").mkdir()
    _write_case(tmp_path / "a" / "ct.nii.gz", tmp_path / "a" / "label.nii.gz")
    assert [r.name for r in find_cases(tmp_path)] == ["a"]


def test_case_json_tumour_labelled_false_keeps_a_case_from_the_tumour_net(tmp_path):
    from livseg_gui.segment.preprocess import context_indices
    from livseg_gui.train.sampling import Augment, NetSpec, Sampler

    for name in ("liver-only", "full"):
        (tmp_path / name).mkdir()
        _write_case(tmp_path / name / "ct.nii.gz", tmp_path / name / "label.nii.gz", (64, 64, 10))
    (tmp_path / "liver-only" / "case.json").write_text('{"tumour_labelled": false, "note": "tumours inside label 1"}')
    refs = {r.name: r for r in find_cases(tmp_path)}
    assert refs["liver-only"].tumour_labelled is False and refs["full"].tumour_labelled is True
    cases = [load_case(r) for r in refs.values()]
    assert [c.tumour_labelled for c in cases] == [True, False] or [c.tumour_labelled for c in cases] == [False, True]
    tumour = Sampler(cases, NetSpec("tumour", size=32, window=(-100, 200)), Augment(), seed=0)
    liver = Sampler(cases, NetSpec("liver", size=32, window=(-200, 250), mm_per_px=2.5), Augment(), seed=0)
    assert [it[0].name for it in tumour.items] == ["full"]
    assert sorted(it[0].name for it in liver.items) == ["full", "liver-only"]
    # Context channels a fixed number of millimetres apart: 5 mm steps on 2 mm slices -> every other slice.
    assert list(context_indices(5, 10, 5, stride=2)) == [1, 3, 5, 7, 9]
    (tmp_path / "full" / "case.json").write_text("not json")
    with pytest.raises(Exception, match="case.json"):
        find_cases(tmp_path)


@pytest.mark.parametrize("diameter", [4.0, 12.0, 30.0])
def test_synthetic_tumour_has_the_requested_size_inside_the_liver(diameter):
    rng = np.random.default_rng(1)
    shape, sp = (120, 120, 40), (0.8, 0.8, 1.5)
    labels = np.zeros(shape, np.uint8)
    labels[10:110, 10:110, 5:35] = 1
    hu = np.full(shape, 100.0, np.float32)
    assert paste_tumour(hu, labels, sp, diameter, rng, center=(60, 60, 20), kind="hypo")
    tumour = labels == 2
    comp, n = ndimage.label(tumour)
    assert n >= 1
    vol_mm3 = tumour.sum() * np.prod(sp)
    eq_diam = np.cbrt(6 * vol_mm3 / np.pi)
    assert diameter * 0.6 < eq_diam < diameter * 1.4
    assert np.all(labels[tumour] == 2) and not tumour[:10].any()  # inside the liver box
    assert hu[tumour].mean() < 100 - 10  # hypodense


def test_synthetic_tumour_is_clipped_to_the_liver():
    rng = np.random.default_rng(2)
    labels = np.zeros((60, 60, 20), np.uint8)
    labels[20:40, 20:40, 5:15] = 1
    hu = np.full(labels.shape, 90.0, np.float32)
    paste_tumour(hu, labels, (1.0, 1.0, 1.0), 40.0, rng, center=(30, 30, 10))
    outside = np.ones(labels.shape, bool)
    outside[20:40, 20:40, 5:15] = False
    assert not (labels[outside] == 2).any()
    assert np.all(hu[outside] == 90.0)


torch = pytest.importorskip("torch", reason="training tests need the [train] extra")


def test_models_build_within_the_parameter_budget():
    from livseg_gui.train.model import build, count_params

    for arch in ("mobileunet", "unet"):
        m = build(arch, 3)
        assert count_params(m) <= 1_500_000
        out = m.eval()(torch.zeros(2, 3, 64, 64))
        assert out.shape == (2, 1, 64, 64)
    # MobileUNet is the lighter net, which is the paper's point.
    assert count_params(build("mobileunet", 3)) < count_params(build("unet", 3))


def test_mobileunet_uses_depthwise_and_pointwise_convolutions():
    from livseg_gui.train.model import MobileUNet

    convs = [m for m in MobileUNet().modules() if isinstance(m, torch.nn.Conv2d)]
    assert any(c.groups == c.in_channels > 1 and c.kernel_size == (3, 3) for c in convs)
    assert any(c.kernel_size == (1, 1) for c in convs)
    assert sum(c.stride == (2, 2) for c in convs) == 4


def test_one_training_step_on_a_synthetic_volume_lowers_the_loss():
    from livseg_gui.io.volume import Metadata, make_volume
    from livseg_gui.train.datasets import Case
    from livseg_gui.train.losses import dice_bce_loss
    from livseg_gui.train.model import build
    from livseg_gui.train.sampling import Augment, NetSpec, Sampler

    torch.manual_seed(0)
    hu = phantom((64, 64, 8), marker=(4, 4, 1))
    lab = np.zeros(hu.shape, np.uint8)
    lab[16:48, 16:48, :] = 1
    vol = make_volume(hu, np.diag([-1.0, -1.0, 2.0, 1.0]), Metadata())
    spec = NetSpec("liver", size=32, window=(-200, 250))
    sampler = Sampler([Case("syn", vol, vol.labels_from_source(lab))], spec, Augment(elastic_px=0), seed=0)
    x, y = sampler.sample(8)
    model = build("mobileunet", 3)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    losses = []
    for _ in range(8):
        loss = dice_bce_loss(model(xt), yt)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < losses[0]


def test_onnx_export_matches_torch(tmp_path):
    pytest.importorskip("onnx")
    from livseg_gui.train.export import export_onnx
    from livseg_gui.train.model import build

    model = build("mobileunet", 3)
    err = export_onnx(model, tmp_path / "m.onnx", 3, 64)
    assert err < 1e-4
    import onnxruntime as ort

    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    assert sess.run(None, {"input": np.zeros((5, 3, 64, 64), np.float32)})[0].shape == (5, 1, 64, 64)


def test_train_command_end_to_end_writes_model_and_card(tmp_path):
    pytest.importorskip("onnx")
    from livseg_gui.cli import main
    from livseg_gui.segment.modelcard import load_card

    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        _write_case(tmp_path / "data" / name / "ct.nii.gz", tmp_path / "data" / name / "label.nii.gz", (64, 64, 10))
    rc = main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "models"), "--net", "tumour",
               "--epochs", "1", "--steps-per-epoch", "2", "--batch", "2", "--val", "b",
               "--run-dir", str(tmp_path / "runs")])
    assert rc == 0
    card = load_card(tmp_path / "models")
    net = card.net("tumour")
    net.verify()
    assert card.raw["nets"]["tumour"]["val_cases"] == ["b"]
    assert card.raw["nets"]["tumour"]["train_cases"] == ["a"]


def test_a_training_run_resumes_its_own_checkpoint_and_refuses_another_runs(tmp_path, monkeypatch, capsys):
    pytest.importorskip("onnx")
    import json

    from livseg_gui.cli import main

    for name in ("a", "b", "c"):
        (tmp_path / "data" / name).mkdir(parents=True)
        _write_case(tmp_path / "data" / name / "ct.nii.gz", tmp_path / "data" / name / "label.nii.gz", (64, 64, 10))
    monkeypatch.chdir(tmp_path)  # checkpoints go under ./runs by default

    def train(out, val, *extra):
        return main(["train", "--data", "data", "--out", out, "--net", "tumour", "--epochs", "1",
                     "--steps-per-epoch", "2", "--batch", "2", "--val", val, *extra])

    def val_cases(out):
        return json.loads((tmp_path / out / "model_card.json").read_text())["nets"]["tumour"]["val_cases"]

    assert train("A", "b") == 0 and (tmp_path / "runs" / "A" / "tumour.pt").exists()
    # Another fold into another folder: its own checkpoint, not A's finished one resumed and exported as its nets.
    assert train("F", "c") == 0 and (tmp_path / "runs" / "F" / "tumour.pt").exists()
    assert val_cases("A") == ["b"] and val_cases("F") == ["c"]
    assert "resumed" not in capsys.readouterr().err
    # The same run again resumes its checkpoint; a run with another split in A's run folder is refused, A untouched.
    assert train("A", "b") == 0 and "resumed" in capsys.readouterr().err
    before = (tmp_path / "A" / "tumour.onnx").read_bytes()
    assert train("G", "c", "--run-dir", "runs/A") == 2
    err = capsys.readouterr().err.strip()
    assert "checkpoint of another run" in err and "val_cases ['b'] (this run: ['c'])" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "G").exists() and (tmp_path / "A" / "tumour.onnx").read_bytes() == before


def _liver_case_folder(folder, shape=(96, 96, 24)):
    """A case with a liver (100 HU) big enough for the click net's lesions, and one labelled lesion."""
    folder.mkdir(parents=True)
    g = np.indices(shape).astype(np.float32)
    liver = ((g[0] - 48) / 40) ** 2 + ((g[1] - 48) / 36) ** 2 + ((g[2] - 12) / 11) ** 2 <= 1
    lesion = (g[0] - 40) ** 2 + (g[1] - 50) ** 2 + ((g[2] - 12) * 2.5) ** 2 <= 8**2
    hu = np.where(liver, 100, -100).astype(np.int16) - 40 * lesion.astype(np.int16)
    lab = liver.astype(np.uint8) + lesion.astype(np.uint8) * liver
    nib.save(nib.Nifti1Image(hu, np.diag([0.8, 0.8, 2.0, 1])), str(folder / "ct.nii.gz"))
    nib.save(nib.Nifti1Image(lab.astype(np.uint8), np.diag([0.8, 0.8, 2.0, 1])), str(folder / "label.nii.gz"))


def test_click_examples_put_the_click_in_the_lesion_and_the_target_under_it(tmp_path):
    from livseg_gui.segment.click_net import ClickSpec
    from livseg_gui.train.click_sampling import ClickSampler, real_lesions
    from livseg_gui.train.sampling import Augment

    _liver_case_folder(tmp_path / "c")
    case = load_case(find_cases(tmp_path)[0])
    assert len(real_lesions(case)) == 1
    spec = ClickSpec(size=64)
    sampler = ClickSampler([case], spec, Augment(rotate_deg=0, scale=(1, 1), elastic_px=0, noise_hu=0), seed=3)
    x, y = sampler.sample(24)
    assert x.shape == (24, spec.channels, 64, 64) and y.shape == (24, 1, 64, 64)
    pos = x[:, spec.context]
    assert np.all((pos >= 0) & (pos <= 1)) and pos.max() > 0.99  # Gaussians of the 3-D distance, 1 at a click
    centre = pos[:, 30:34, 30:34].max(axis=(1, 2))
    # The first click is the square's centre (a second positive click, in a quarter of the examples, may lie
    # nearer the slice shown).
    assert np.mean(centre >= pos.max(axis=(1, 2)) - 1e-6) >= 0.6
    hit = y[:, 0, 28:36, 28:36].mean(axis=(1, 2))
    # Slices through the lesion have lesion under the click; slices past its ends are empty (learn to stop).
    assert (hit > 0.5).sum() >= 6 and (y.sum(axis=(1, 2, 3)) == 0).sum() >= 1


def test_train_command_trains_the_click_net(tmp_path):
    pytest.importorskip("onnx")
    from livseg_gui.cli import main
    from livseg_gui.segment.models import load_click_net

    for name in ("a", "b"):
        _liver_case_folder(tmp_path / "data" / name)
    rc = main(["train", "--data", str(tmp_path / "data"), "--out", str(tmp_path / "models"), "--net", "click",
               "--epochs", "1", "--steps-per-epoch", "2", "--batch", "2", "--val", "b",
               "--run-dir", str(tmp_path / "runs")])
    assert rc == 0
    import json

    entry = json.loads((tmp_path / "models" / "model_card.json").read_text())["nets"]["click"]
    assert entry["channels"] == entry["context"] + 3 and entry["val_cases"] == ["b"]
    assert "click_examples" in entry["history"][-1]["val_dice"]
    (tmp_path / "models" / "model_card.json").write_text(json.dumps({"nets": {"click": entry}}))
    assert load_click_net(tmp_path / "models") is not None
