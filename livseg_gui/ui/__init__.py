"""The Qt shell: windows, views and workers over the Qt-free core. Only this package imports Qt."""
