"""Optional trainer (needs the ``[train]`` extra: PyTorch). The app never imports this package."""
