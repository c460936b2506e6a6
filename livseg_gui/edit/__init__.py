"""Editing: one label map with a sparse undo stack, and the tools that change it. No Qt."""

from .labelmap import Change, LabelMap

__all__ = ["Change", "LabelMap"]
