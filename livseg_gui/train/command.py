"""`livseg train`: argument parsing kept beside the trainer so the app's CLI never imports torch."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from ..errors import UsageError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="folder of labelled cases (LivSeg, LiTS or MSD layout)")
    p.add_argument("--out", default="models", help="where the ONNX model and model card go (default: models)")
    p.add_argument("--net", choices=["liver", "tumour", "click"], default="liver",
                   help="liver or tumour (the cascade), or click (the one-click lesion net)")
    p.add_argument("--arch", choices=["mobileunet", "unet"], default="mobileunet",
                   help="mobileunet (bundled) or unet (the plain U-Net baseline)")
    p.add_argument("--epochs", type=int, default=16)
    p.add_argument("--steps-per-epoch", type=int, default=150)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--val", default="radct-1720,ts-example-dicom",
                   help="comma-separated validation case names (never trained on)")
    p.add_argument("--exclude", default="", help="comma-separated case names to leave out entirely")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--run-dir", default=None,
                   help="checkpoints; an interrupted run resumes from here (default: runs/ and the --out folder's name)")
    p.add_argument("--time-budget-min", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--init", default="", help="warm-start from this checkpoint's weights (fine-tuning)")


def run(args: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UsageError("training needs PyTorch: pip install 'livseg[train]' (or pip install torch==2.13.0)") from None
    from .trainer import TrainConfig, train

    # The CLI configured the root logger for warnings only; training progress goes to stderr too.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
    train_log = logging.getLogger("livseg.train")
    train_log.addHandler(handler)
    train_log.setLevel(logging.INFO)
    train_log.propagate = False
    cfg = TrainConfig(
        data=args.data, out=args.out, net=args.net, arch=args.arch, epochs=args.epochs,
        steps_per_epoch=args.steps_per_epoch, batch=args.batch, lr=args.lr,
        val_cases=[s for s in args.val.split(",") if s], exclude_cases=[s for s in args.exclude.split(",") if s],
        seed=args.seed, init=args.init, threads=args.threads, time_budget_min=args.time_budget_min,
        run_dir=args.run_dir or str(Path("runs") / Path(args.out).resolve().name),  # each output's run its own
    )
    entry = train(cfg)
    print(f"{cfg.name}: {entry['epochs']} epochs, {entry['train_time_s']:.0f} s, wrote {args.out}/{entry['file']}")
    return 0
