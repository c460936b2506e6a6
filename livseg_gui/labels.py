"""The label convention (LiTS): 0 background, 1 liver, 2 tumour; names and display colours."""

from __future__ import annotations

BACKGROUND, LIVER, TUMOUR = 0, 1, 2
NAMES = {LIVER: "Liver", TUMOUR: "Tumour"}
# Recommended display colours (RGB), also written into DICOM SEG.
COLOURS = {LIVER: (221, 130, 101), TUMOUR: (80, 200, 255)}
