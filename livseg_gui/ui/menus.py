"""The window's menus and actions, each with its shortcut in the tooltip (Help > Keyboard shortcuts reads them).

A mixin of :class:`~livseg_gui.ui.main_window.MainWindow`.
"""

from __future__ import annotations

from PySide6 import QtGui

from .shortcuts import show_shortcuts

WINDOW_PRESETS = {
    "Abdomen (W400 L40)": (400.0, 40.0),
    "Liver (W150 L30)": (150.0, 30.0),
    "Bone (W1800 L400)": (1800.0, 400.0),
    "Lung (W1500 L-600)": (1500.0, -600.0),
}


class Menus:
    def _action(self, menu, text, slot, shortcut=None, name=None) -> QtGui.QAction:
        a = QtGui.QAction(text, self)
        if shortcut:
            a.setShortcut(QtGui.QKeySequence(shortcut))
            a.setToolTip(f"{text} ({a.shortcut().toString(QtGui.QKeySequence.SequenceFormat.NativeText)})")
        a.triggered.connect(lambda *_: slot())
        if name:
            a.setObjectName(name)
        menu.addAction(a)
        return a

    def _build_menus(self) -> None:
        m = self.menuBar().addMenu("&File")
        self._action(m, "Open CT file...", self.open_file_dialog, QtGui.QKeySequence.StandardKey.Open)
        self._action(m, "Open DICOM folder...", self.open_folder_dialog, "Ctrl+Shift+O")
        self.recent_menu = m.addMenu("Open recent")
        self._fill_recent()
        m.addSeparator()
        self.act_load_mask = self._action(m, "Load mask (NIfTI or DICOM SEG)...", self.load_mask_dialog)
        self.act_save_mask = self._action(m, "Save mask as NIfTI...", self.save_mask_dialog, "Ctrl+S")
        self.act_seg = self._action(m, "Export DICOM SEG...", self.export_seg_dialog)
        self.act_report = self._action(m, "Export report (PDF, JSON, CSV)...", self.export_report_dialog, "Ctrl+E")
        self.act_compare = self._action(m, "Compare with prior...", self.compare_with_prior_dialog)
        anon = QtGui.QAction("Anonymise reports", self, checkable=True)
        anon.toggled.connect(lambda on: setattr(self, "anonymise", on))
        m.addAction(anon)
        m.addSeparator()
        self._action(m, "Quit", self.close, QtGui.QKeySequence.StandardKey.Quit)

        e = self.menuBar().addMenu("&Edit")
        self.act_undo = self._action(e, "Undo", self.undo, QtGui.QKeySequence.StandardKey.Undo, "undo")
        self.act_redo = self._action(e, "Redo", self.redo, "Ctrl+Y", "redo")
        self.act_redo.setShortcuts([QtGui.QKeySequence("Ctrl+Y"), QtGui.QKeySequence("Ctrl+Shift+Z")])
        e.addSeparator()
        self._action(e, "Fill between slices (axial, active label)", self.interpolate_dialog, "Ctrl+I")
        self._action(e, "Flood fill closed region at cursor (axial)", self.flood_fill_at_cursor, "Ctrl+F")
        self._action(e, "Remove islands", self.remove_islands)
        self._action(e, "Remove tumour outside the liver", self.tumour_inside_liver)
        e.addSeparator()
        self._action(e, "Next lesion", lambda: self.lesion_panel.move(1), "N")
        self._action(e, "Previous lesion", lambda: self.lesion_panel.move(-1), "Shift+N")
        self._action(e, "Larger brush", lambda: self.tool_panel.grow(1.25), "]")
        self._action(e, "Smaller brush", lambda: self.tool_panel.grow(0.8), "[")

        s = self.menuBar().addMenu("&Segment")
        self.act_segment = self._action(s, "Segment liver and tumours", self.segment, "Ctrl+G")

        v = self.menuBar().addMenu("&View")
        for i, (name, (w, lev)) in enumerate(WINDOW_PRESETS.items(), start=1):
            self._action(v, name, lambda w=w, lev=lev: self.set_window(w, lev), f"F{i}")
        v.addSeparator()
        self._action(v, "Fit views (reset zoom)", self.fit_views, "Ctrl+0")
        tb = self.menuBar().addMenu("&Tools")
        for tool, key in (("navigate", "C"), ("paint", "P"), ("erase", "E"), ("threshold", "T"), ("sphere", "B"),
                          ("click", "K")):
            self._action(tb, f"{tool.capitalize()} tool", lambda t=tool: self.tool_panel.set_tool(t), key)
        h = self.menuBar().addMenu("&Help")
        self._action(h, "Keyboard shortcuts", lambda: show_shortcuts(self), "F12")
        self._action(h, "About LivSeg / self-test", self.about)
