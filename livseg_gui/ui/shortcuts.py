"""Help > Keyboard shortcuts: every action with a key, read from the window's own actions (never out of date)."""

from __future__ import annotations

from PySide6 import QtGui, QtWidgets

MOUSE = [
    ("Wheel / Up, Down / Page Up, Down", "scroll the view under the mouse"),
    ("Ctrl + wheel", "zoom"),
    ("Middle drag", "pan"),
    ("Right drag", "window / level"),
    ("Double-click a view", "maximise it / restore the three views"),
]


def show_shortcuts(window: QtWidgets.QMainWindow) -> None:
    rows = []
    for action in window.findChildren(QtGui.QAction):
        keys = ", ".join(s.toString(QtGui.QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        if keys and action.text():
            rows.append((keys, action.text().replace("&", "")))
    rows = sorted(set(rows), key=lambda r: r[1].lower()) + MOUSE
    table = QtWidgets.QTableWidget(len(rows), 2)
    table.setHorizontalHeaderLabels(["Key", "Action"])
    for r, (k, a) in enumerate(rows):
        table.setItem(r, 0, QtWidgets.QTableWidgetItem(k))
        table.setItem(r, 1, QtWidgets.QTableWidgetItem(a))
    table.verticalHeader().setVisible(False)
    table.horizontalHeader().setStretchLastSection(True)
    table.resizeColumnsToContents()
    dlg = QtWidgets.QDialog(window)
    dlg.setWindowTitle("Keyboard shortcuts")
    lay = QtWidgets.QVBoxLayout(dlg)
    lay.addWidget(table)
    dlg.resize(520, 560)
    dlg.setObjectName("shortcuts_dialog")
    dlg.show()
