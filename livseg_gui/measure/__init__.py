"""Lesion analysis and evaluation metrics. No Qt."""

from .lesions import CONNECTIVITY, COORDINATES, Lesion, LiverAnalysis, LiverGeometry, analyse

__all__ = ["COORDINATES", "CONNECTIVITY", "Lesion", "LiverAnalysis", "LiverGeometry", "analyse"]
