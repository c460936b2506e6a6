"""LivSeg: offline liver and liver-tumour segmentation for abdominal CT."""

__version__ = "0.1.0"
