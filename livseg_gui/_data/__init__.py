"""Where a regular install (wheel or sdist) puts the top-level ``models/`` and ``resources/`` folders.

pyproject.toml maps ``livseg_gui._data.models`` and ``livseg_gui._data.resources`` onto those folders,
so the repository keeps its fixed layout while ``pip install .`` carries the files. Code never reads
this package directly: ``livseg_gui.resources`` finds the folders wherever the app runs from.
"""
