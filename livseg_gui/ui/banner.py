"""A banner above the views: the start hint, and warnings that must stay visible (not a 10 s status message)."""

from __future__ import annotations

from PySide6 import QtWidgets

START_HINT = ("Open a CT to begin: File > Open CT file (Ctrl+O) or Open DICOM folder (Ctrl+Shift+O), "
              "or drop a NIfTI file or DICOM folder on this window. Help > Keyboard shortcuts lists every key.")


class Banner(QtWidgets.QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("banner")
        self.setWordWrap(True)
        self.setMargin(6)
        self.show_hint()

    def show_hint(self) -> None:
        self.setStyleSheet("background: #e8eef5; color: #1d3557;")
        self.setText(START_HINT)
        self.setVisible(True)

    def show_warnings(self, warnings: list[str]) -> None:
        if not warnings:
            self.setVisible(False)
            return
        self.setStyleSheet("background: #fff1e6; color: #8a1c00;")
        self.setText("<br>".join(f"<b>Warning:</b> {w}" for w in warnings))
        self.setVisible(True)
