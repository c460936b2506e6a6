"""The ONNX liver -> tumour cascade and its pre-processing. No Qt, no torch."""

from .cascade import Cascade, SegmentationResult

__all__ = ["Cascade", "SegmentationResult"]
