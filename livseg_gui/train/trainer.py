"""Training loop: resumable, logged per epoch, ending in an ONNX export and a model-card entry."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from ..segment.click_net import ClickSpec
from ..segment.preprocess import normalise, stack_25d, to_net_plane
from .card import update_card
from .datasets import Case, find_cases, load_case
from .export import export_onnx, sha256
from .losses import dice_bce_loss
from .model import build, count_macs, count_params
from .sampling import Augment, NetSpec, Sampler, liver_bbox

log = logging.getLogger("livseg.train")

# The liver net sees 400 mm of the body at 2.5 mm per pixel and five slices spanning 20 mm (the dome
# against the heart needs more than three adjacent 1 mm slices); the tumour net five slices spanning 10 mm.
DEFAULT_SPECS = {
    "liver": NetSpec("liver", size=160, window=(-200.0, 250.0), context=5, mm_per_px=2.5, context_step_mm=5.0),
    "tumour": NetSpec("tumour", size=160, window=(-100.0, 200.0), context=5, roi_margin_mm=10.0, context_step_mm=2.5),
}


CLICK_SPEC = ClickSpec()


@dataclass
class TrainConfig:
    data: str
    out: str = "models"
    net: str = "liver"
    arch: str = "mobileunet"
    epochs: int = 16
    steps_per_epoch: int = 150
    batch: int = 16
    lr: float = 2e-3
    val_cases: list[str] = field(default_factory=list)
    exclude_cases: list[str] = field(default_factory=list)
    seed: int = 0
    threads: int = 0
    run_dir: str = "runs"
    time_budget_min: float = 0.0  # 0 = no limit; otherwise stop after the epoch that crosses it
    init: str = ""  # warm start: a checkpoint (.pt) whose model weights seed this run

    @property
    def name(self) -> str:
        return self.net if self.arch == "mobileunet" else f"{self.net}_{self.arch}"


def _dice(pred: np.ndarray, gt: np.ndarray) -> float:
    denom = pred.sum() + gt.sum()
    return 1.0 if denom == 0 else float(2 * np.logical_and(pred, gt).sum() / denom)


@torch.no_grad()
def validate(model: torch.nn.Module, cases: list[Case], spec: NetSpec) -> dict[str, float]:
    """Dice per case at the net's resolution (fast; the full-cascade figures come from `evaluate`)."""
    model.eval()
    out: dict[str, float] = {}
    for case in cases:
        vol, lab = case.volume, case.labels
        box = spec.box(case)
        if spec.task == "liver":
            ks = np.arange(vol.shape[2])
            gt_full = lab >= 1
        else:
            if box is None or not case.tumour_labelled or not (lab == 2).any():
                continue
            bb = liver_bbox(lab)
            ks = np.arange(bb[0][2], bb[1][2] + 1)
            gt_full = lab == 2
        planes = normalise(to_net_plane(vol.array, box, spec.size), spec.window)
        gt = to_net_plane(gt_full.astype(np.float32), box, spec.size, order=0, cval=0.0) > 0.5
        pred = np.zeros_like(gt)
        for i in range(0, len(ks), 32):
            batch = stack_25d(planes, ks[i : i + 32], spec.context, spec.stride(case))
            logits = model(torch.from_numpy(batch)).numpy()[:, 0]
            pred[:, :, ks[i : i + 32]] = np.moveaxis(logits > 0, 0, 2)
        out[case.name] = _dice(pred, gt)
    model.train()
    return out


@torch.no_grad()
def validate_click(model: torch.nn.Module, batch) -> dict[str, float]:
    """Dice of the click net over a fixed set of validation examples (one slice each)."""
    if batch is None:
        return {}
    model.eval()
    x, y = batch
    pred = model(torch.from_numpy(x)).numpy() > 0
    model.train()
    return {"click_examples": _dice(pred, y > 0.5)}


# What makes a checkpoint this run's to resume: the same net, recipe and case split. The output folder, threads and
# time budget may change between a run and its resumption.
_RUN_SETTINGS = ("net", "arch", "epochs", "steps_per_epoch", "batch", "lr", "val_cases", "exclude_cases", "seed", "init")


def _other_run(saved: dict | None, cfg: TrainConfig) -> list[str]:
    """The settings in which a checkpoint's run (its saved config; None for one that saved none) differs from
    ``cfg``'s, as "name saved (this run: value)". Resuming another run's checkpoint would export its weights as this
    run's: run A's finished checkpoint in the shared run folder became fold F17's nets."""
    if saved is None:
        return []
    now = asdict(cfg)
    return [f"{k} {saved.get(k)!r} (this run: {now[k]!r})" for k in _RUN_SETTINGS if saved.get(k) != now[k]]


def train(cfg: TrainConfig) -> dict:
    # An interrupted run resumes from its checkpoint; another run's is refused before any case is loaded.
    ckpt = Path(cfg.run_dir) / f"{cfg.name}.pt"
    state = torch.load(ckpt, weights_only=False) if ckpt.exists() else None
    if state is not None and (differs := _other_run(state.get("config"), cfg)):
        raise UsageError(f"{ckpt} is the checkpoint of another run ({'; '.join(differs)}): give this run its own "
                         "--run-dir, or delete the checkpoint to start over")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    click = cfg.net == "click"
    spec = CLICK_SPEC if click else DEFAULT_SPECS[cfg.net]
    refs = [r for r in find_cases(cfg.data) if r.name not in cfg.exclude_cases]
    val_refs = [r for r in refs if r.name in cfg.val_cases]
    train_refs = [r for r in refs if r.name not in cfg.val_cases]
    if not train_refs:
        raise ValueError("no training cases left after the validation split")
    log.info("train cases: %s | val cases: %s", [r.name for r in train_refs], [r.name for r in val_refs])
    train_cases = [load_case(r) for r in train_refs]
    val_cases = [load_case(r) for r in val_refs]
    tumour = cfg.net == "tumour"
    aug = Augment(flip=tumour or click, phase_p=0.7, blur_p=0.25, thick_p=0.0 if click else 0.2,
                  synth_tumour_p=0.6 if tumour else 0.0, perfusion_p=0.5 if tumour else 0.0)
    if click:
        from .click_sampling import ClickSampler

        sampler = ClickSampler(train_cases, spec, aug, seed=cfg.seed)
        # A fixed set of validation examples (real lesions and lesions pasted into the validation livers).
        val_batch = ClickSampler(val_cases, spec, aug, seed=1234).sample(64) if val_cases else None
    else:
        sampler = Sampler(train_cases, spec, aug, seed=cfg.seed)
    in_ch = spec.channels if click else spec.context

    model = build(cfg.arch, in_ch).to(memory_format=torch.channels_last)
    history: list[dict] = []
    if cfg.init:
        seed = torch.load(cfg.init, weights_only=False)
        model.load_state_dict(seed["model"])
        history = [{**h, "phase": "initial"} for h in seed.get("history", [])]
        log.info("warm start from %s (%d epochs)", cfg.init, len(history))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=1e-4)
    total_steps = cfg.epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps, pct_start=0.1)
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    start_epoch, elapsed = 0, float(seed.get("elapsed", 0.0)) if cfg.init else 0.0
    initial = len(history)
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start_epoch, history, elapsed = state["epoch"], state["history"], state["elapsed"]
        sampler.rng = np.random.default_rng(cfg.seed + start_epoch)
        log.info("resumed %s at epoch %d", ckpt, start_epoch)

    model.train()
    epoch = start_epoch
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.time()
        losses = []
        for _ in range(cfg.steps_per_epoch):
            x, y = sampler.sample(cfg.batch)
            xt = torch.from_numpy(x).to(memory_format=torch.channels_last)
            loss = dice_bce_loss(model(xt), torch.from_numpy(y))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
        val = validate_click(model, val_batch) if click else validate(model, val_cases, spec)
        elapsed += time.time() - t0
        row = {"epoch": initial + epoch + 1, "loss": float(np.mean(losses)), "val_dice": val, "elapsed_s": round(elapsed, 1)}
        history.append(row)
        log.info(json.dumps(row))
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                    "epoch": epoch + 1, "history": history, "elapsed": elapsed, "config": asdict(cfg)}, ckpt)
        if cfg.time_budget_min and elapsed > cfg.time_budget_min * 60:
            log.info("time budget reached after epoch %d", epoch + 1)
            break

    out = Path(cfg.out)
    onnx_path = out / f"{cfg.net}.onnx"  # a baseline goes to its own --out folder, with its own card
    err = export_onnx(model, onnx_path, in_ch, spec.size)
    entry = {
        "file": str(onnx_path.relative_to(out)),
        "sha256": sha256(onnx_path),
        "task": cfg.net,
        "architecture": cfg.arch,
        "parameters": count_params(model),
        "macs_per_slice": count_macs(model, in_ch, spec.size),
        "input_size": spec.size,
        "context": spec.context,
        "channels": in_ch,
        "context_step_mm": spec.context_step_mm,
        "mm_per_px": spec.mm_per_px,
        "hu_window": list(spec.window),
        "threshold": 0.5,
        "roi_margin_mm": spec.roi_margin_mm if cfg.net == "tumour" else None,
        "epochs": len(history),
        "planned_epochs": cfg.epochs,
        "steps_per_epoch": cfg.steps_per_epoch,
        "batch": cfg.batch,
        "train_time_s": round(elapsed, 1),
        "onnx_max_abs_diff": err,
        "train_cases": [r.name for r in train_refs],
        "val_cases": [r.name for r in val_refs],
        "augmentation": asdict(aug),
        "history": history,
    }
    update_card(out, cfg.net, entry)
    log.info("wrote %s (max |ORT-torch| = %.2e)", onnx_path, err)
    return entry
