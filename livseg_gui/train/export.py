"""ONNX export with a numerical check against torch."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn


def export_onnx(model: nn.Module, path: str | Path, in_ch: int, size: int, tol: float = 1e-4) -> float:
    """Export ``model`` (dynamic batch, opset 17) and return the max |ORT - torch| on random input."""
    import onnxruntime as ort

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval().to(memory_format=torch.contiguous_format)
    dummy = torch.randn(2, in_ch, size, size)
    tmp = path.with_suffix(".onnx.tmp")
    torch.onnx.export(
        model, (dummy,), str(tmp), opset_version=17, input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, dynamo=False,
    )
    x = torch.rand(3, in_ch, size, size)
    with torch.no_grad():
        ref = model(x).numpy()
    sess = ort.InferenceSession(str(tmp), providers=["CPUExecutionProvider"])
    got = sess.run(None, {"input": x.numpy()})[0]
    err = float(np.max(np.abs(got - ref)))
    if err > tol:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ONNX output differs from torch by {err:.2e} (> {tol:.0e})")
    tmp.replace(path)
    return err


def sha256(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
