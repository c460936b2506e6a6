"""Loading and saving: CT volumes (NIfTI, DICOM) and label maps (NIfTI, DICOM SEG). No Qt."""

from .loader import SeriesInfo, list_series, load_volume
from .volume import Metadata, SourceGrid, Volume

__all__ = ["Metadata", "SeriesInfo", "SourceGrid", "Volume", "list_series", "load_volume"]
