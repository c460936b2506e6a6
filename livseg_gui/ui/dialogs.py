"""Small dialogs."""

from __future__ import annotations

from PySide6 import QtWidgets

from ..io.loader import SeriesInfo


def series_choices(series: list[SeriesInfo]) -> list[tuple[int, str, bool]]:
    """(index, label, loadable) for each series, as the picker lists them."""
    out = []
    for s in series:
        text = s.label()
        if s.problem:
            text += f" - cannot load: {s.problem}"
        out.append((s.index, text, s.problem is None))
    return out


def pick_series(parent, series: list[SeriesInfo]) -> int | None:
    dlg = QtWidgets.QDialog(parent)
    dlg.setWindowTitle("Choose a series")
    lst = QtWidgets.QListWidget()
    for index, text, ok in series_choices(series):
        item = QtWidgets.QListWidgetItem(text)
        item.setData(256, index)
        if not ok:
            item.setFlags(item.flags() & ~item.flags().ItemIsEnabled)
        lst.addItem(item)
    buttons = QtWidgets.QDialogButtonBox(QtWidgets.QDialogButtonBox.StandardButton.Ok
                                         | QtWidgets.QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dlg.accept)
    buttons.rejected.connect(dlg.reject)
    lst.itemDoubleClicked.connect(lambda *_: dlg.accept())
    layout = QtWidgets.QVBoxLayout(dlg)
    layout.addWidget(QtWidgets.QLabel("This folder holds several CT series:"))
    layout.addWidget(lst)
    layout.addWidget(buttons)
    dlg.resize(700, 300)
    if dlg.exec() != QtWidgets.QDialog.DialogCode.Accepted or lst.currentItem() is None:
        return None
    return int(lst.currentItem().data(256))
