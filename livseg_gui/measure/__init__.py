"""Lesion analysis and evaluation metrics. No Qt."""

from .lesions import COORDINATES, CONNECTIVITY, LiverAnalysis, LiverGeometry, Lesion, analyse

__all__ = ["COORDINATES", "CONNECTIVITY", "Lesion", "LiverAnalysis", "LiverGeometry", "analyse"]
