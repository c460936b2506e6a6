"""One ONNX network: session created once, inputs checked against the model card."""

from __future__ import annotations

import os

import numpy as np

from ..errors import ModelError
from .modelcard import NetCard


class NetRunner:
    def __init__(self, card: NetCard, threads: int = 0):
        import onnxruntime as ort

        card.verify()
        self.card = card
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or os.cpu_count() or 1
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(card.path), sess_options=opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf types
            raise ModelError(f"{card.path.name}: not a loadable ONNX model ({str(exc).splitlines()[0][:160]})") from None
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = list(inp.shape)
        expected = [card.in_channels, card.input_size, card.input_size]
        fixed = [d if isinstance(d, int) else None for d in shape[1:]]
        if len(shape) != 4 or any(f is not None and f != e for f, e in zip(fixed, expected)):
            raise ModelError(
                f"{card.path.name}: model input {shape} does not match the model card "
                f"({card.in_channels} channels, size {card.input_size})"
            )

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """(B, channels, S, S) float32 -> (B, S, S) logits."""
        return self.session.run(None, {self.input_name: batch})[0][:, 0]


def sigmoid(x: np.ndarray) -> np.ndarray:
    out = np.negative(x, dtype=np.float32)
    np.exp(out, out=out)
    out += 1.0
    np.reciprocal(out, out=out)
    return out
